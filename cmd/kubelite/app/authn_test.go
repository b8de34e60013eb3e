package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// anonymousConfig reaches s with no credentials, trusting its CA.
func anonymousConfig(s *testserver.Server) *rest.Config {
	return &rest.Config{Host: s.Config.Host, TLSClientConfig: rest.TLSClientConfig{CAFile: s.Config.CAFile}}
}

func reviewToken(t *testing.T, c kubernetes.Interface, token string) authenticationv1.TokenReviewStatus {
	t.Helper()
	tr, err := c.AuthenticationV1().TokenReviews().Create(t.Context(), &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status
}

// TestAnonymousAndRefusedCredentials: a request without credentials is
// system:anonymous (health and cluster-info allowed, the API forbidden); a
// bearer token or client certificate the server does not accept is 401,
// never anonymous.
func TestAnonymousAndRefusedCredentials(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	anon := kubernetes.NewForConfigOrDie(anonymousConfig(s))
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/version"} {
		// /readyz may fail for a moment after start while the controllers
		// add informers to the server's factory (its informer-sync check):
		// what matters here is that it answers anonymous requests.
		var err error
		_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err = anon.Discovery().RESTClient().Get().AbsPath(path).DoRaw(ctx)
			return err == nil || apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err), nil
		})
		if err != nil {
			t.Errorf("anonymous GET %s: %v", path, err)
		}
	}
	_, err := anon.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "system:anonymous" cannot list resource "namespaces"`) {
		t.Errorf("anonymous list namespaces: want 403 for system:anonymous, got %v", err)
	}
	if _, err := anon.CoreV1().ConfigMaps("kube-public").Get(ctx, "cluster-info", metav1.GetOptions{}); err != nil {
		t.Errorf("anonymous get cluster-info: %v", err)
	}
	if _, err := anon.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("anonymous get of another config map: want 403, got %v", err)
	}

	for name, token := range map[string]string{
		"garbage":                 "not-a-token",
		"unknown bootstrap token": "abcdef.0123456789abcdef",
		"forged service account":  "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMuY2x1c3Rlci5sb2NhbCJ9.c2ln",
	} {
		cfg := anonymousConfig(s)
		cfg.BearerToken = token
		_, err := kubernetes.NewForConfigOrDie(cfg).Discovery().RESTClient().Get().AbsPath("/healthz").DoRaw(ctx)
		if !apierrors.IsUnauthorized(err) {
			t.Errorf("%s: want 401, got %v", name, err)
		}
	}

	// A client certificate from another CA.
	other := t.TempDir()
	otherServer := testserverPKI(t, other)
	cfg := anonymousConfig(s)
	cfg.CertFile, cfg.KeyFile = filepath.Join(otherServer, "admin.crt"), filepath.Join(otherServer, "admin.key")
	if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("certificate of another CA: want 401, got %v", err)
	}
}

// testserverPKI makes the PKI of another cluster under dir and returns its
// pki directory: the admin certificate there is signed by another CA.
func testserverPKI(t *testing.T, dir string) string {
	t.Helper()
	if err := app.EnsurePKI(filepath.Join(dir, "pki")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "pki")
}

var tokenPattern = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// TestBootstrapTokens: `kubelite token create` makes a token that
// authenticates as system:bootstrap:<id> in system:bootstrappers, signs
// cluster-info, and may create CSRs; once it expires it no longer
// authenticates, and the token cleaner deletes it and the signer drops its
// signature.
func TestBootstrapTokens(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()

	var out bytes.Buffer
	cmd := app.NewCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"token", "create", "--kubeconfig", s.Kubeconfig, "--ttl", "1h"})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out.String())
	if !tokenPattern.MatchString(token) {
		t.Fatalf("kubelite token create printed %q", out.String())
	}
	id := token[:6]
	secret, err := s.Client.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+id, metav1.GetOptions{})
	if err != nil || secret.Type != "bootstrap.kubernetes.io/token" || string(secret.Data["token-secret"]) != token[7:] {
		t.Fatalf("token's secret = %+v, %v", secret, err)
	}
	if exp, err := time.Parse(time.RFC3339, string(secret.Data["expiration"])); err != nil || time.Until(exp) < 59*time.Minute || time.Until(exp) > time.Hour {
		t.Errorf("--ttl 1h: expiration %q", secret.Data["expiration"])
	}
	// The authenticator reads the token's Secret from an informer: it
	// knows the token once the watch has delivered it.
	waitFor(t, "the new token authenticates", 5*time.Second, func() bool { return reviewToken(t, s.Client, token).Authenticated })
	st := reviewToken(t, s.Client, token)
	if !st.Authenticated || st.User.Username != "system:bootstrap:"+id ||
		!slices.Equal(st.User.Groups, []string{"system:bootstrappers", "system:bootstrappers:kubelite:default-node-token", "system:authenticated"}) {
		t.Errorf("review of the bootstrap token = %+v", st)
	}
	if st := reviewToken(t, s.Client, id+".0123456789abcdef"); st.Authenticated {
		t.Errorf("token with the wrong secret authenticated: %+v", st)
	}
	signed := func(id string) bool {
		cm, err := s.Client.CoreV1().ConfigMaps("kube-public").Get(ctx, "cluster-info", metav1.GetOptions{})
		return err == nil && cm.Data["jws-kubeconfig-"+id] != ""
	}
	waitFor(t, "cluster-info signed for "+id, 10*time.Second, func() bool { return signed(id) })

	// The bootstrapper may ask for a node client certificate.
	cfg := anonymousConfig(s)
	cfg.BearerToken = token
	bootstrapper := kubernetes.NewForConfigOrDie(cfg)
	csr, err := bootstrapper.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    nodeCSR(t, "system:node:probe"),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("bootstrapper creates a CSR: %v", err)
	}
	if csr.Spec.Username != "system:bootstrap:"+id {
		t.Errorf("CSR's requester = %q", csr.Spec.Username)
	}
	if _, err := bootstrapper.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("bootstrapper lists secrets: want 403, got %v", err)
	}

	// A token that expires in a second.
	short, err := app.CreateBootstrapToken(ctx, s.Client, time.Second, "short")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "token expires and is deleted", 15*time.Second, func() bool {
		_, err := s.Client.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+short[:6], metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if st := reviewToken(t, s.Client, short); st.Authenticated {
		t.Errorf("expired token authenticated: %+v", st)
	}
	waitFor(t, "signature of the expired token dropped", 10*time.Second, func() bool { return !signed(short[:6]) && signed(id) })

	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		cmd := app.NewCommand()
		cmd.SetOut(&out)
		cmd.SetArgs(append(args, "--kubeconfig", s.Kubeconfig))
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	list := run("token", "list")
	if !regexp.MustCompile(regexp.QuoteMeta(token) + `\s+(59m|60m)\s+\S+\s+authentication,signing\s+<none>\s+system:bootstrappers:kubelite:default-node-token`).MatchString(list) {
		t.Errorf("token list:\n%s", list)
	}
	run("token", "delete", id)
	if _, err := s.Client.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-"+id, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after token delete: %v", err)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		t.Fatalf("%s: not within %v", what, timeout)
	}
}

// TestServiceAccountTokens: a service account token Secret a user creates
// gets a token from the token controller, which authenticates while the
// Secret holds it and the account exists, and is refused once the Secret is
// marked invalid; the controller deletes token Secrets whose account is
// missing or deleted. A TokenRequest token bound to a pod, a secret or a
// node is refused once that object is deleted.
func TestServiceAccountTokens(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	c := s.Client
	ca, err := os.ReadFile(s.Config.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	newAccount := func(name string) *corev1.ServiceAccount {
		sa, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sa
	}
	newTokenSecret := func(name, account string) {
		_, err := c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: account}},
			Type:       corev1.SecretTypeServiceAccountToken,
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	filled := func(name string) *corev1.Secret {
		t.Helper()
		var secret *corev1.Secret
		waitFor(t, "token secret "+name+" filled", 10*time.Second, func() bool {
			secret, err = c.CoreV1().Secrets("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil && len(secret.Data[corev1.ServiceAccountTokenKey]) > 0
		})
		return secret
	}
	gone := func(name string) {
		t.Helper()
		waitFor(t, "token secret "+name+" deleted", 10*time.Second, func() bool {
			_, err := c.CoreV1().Secrets("default").Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}

	robot := newAccount("robot")
	newTokenSecret("robot-token", "robot")
	secret := filled("robot-token")
	if !bytes.Equal(secret.Data["ca.crt"], ca) || string(secret.Data["namespace"]) != "default" || secret.Annotations[corev1.ServiceAccountUIDKey] != string(robot.UID) {
		t.Errorf("filled token secret = %+v", secret)
	}
	st := reviewToken(t, c, string(secret.Data["token"]))
	if !st.Authenticated || st.User.Username != "system:serviceaccount:default:robot" || st.User.UID != string(robot.UID) {
		t.Errorf("review of the legacy token = %+v", st)
	}
	// The token as a bearer credential: authenticated (a 403 names the user).
	cfg := anonymousConfig(s)
	cfg.BearerToken = string(secret.Data["token"])
	if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) ||
		!strings.Contains(err.Error(), "system:serviceaccount:default:robot") {
		t.Errorf("request with the legacy token: want 403 for the service account, got %v", err)
	}

	// Marked invalid: refused (a token not reviewed yet, so not cached).
	newTokenSecret("robot-token-2", "robot")
	secret = filled("robot-token-2")
	secret.Labels = map[string]string{"kubernetes.io/legacy-token-invalid-since": "2026-01-01"}
	if _, err := c.CoreV1().Secrets("default").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := reviewToken(t, c, string(secret.Data["token"])); st.Authenticated || !strings.Contains(st.Error, "marked invalid") {
		t.Errorf("review of an invalidated token = %+v", st)
	}

	// A token Secret of a missing account is deleted; so are an account's
	// when it is deleted, and its token no longer authenticates.
	newTokenSecret("nobody-token", "nobody")
	gone("nobody-token")
	newAccount("temp")
	newTokenSecret("temp-token", "temp")
	temp := filled("temp-token")
	if err := c.CoreV1().ServiceAccounts("default").Delete(ctx, "temp", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gone("temp-token")
	if st := reviewToken(t, c, string(temp.Data["token"])); st.Authenticated {
		t.Errorf("token of a deleted account authenticated: %+v", st)
	}

	// A pod-bound TokenRequest token dies with its pod. Two tokens: one
	// reviewed while the pod lives, one first reviewed after its deletion
	// (a review's verdict is cached for seconds, as upstream's).
	pod, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "holder"},
		Spec:       corev1.PodSpec{ServiceAccountName: "robot", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bound := func() string {
		tr, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "holder", UID: pod.UID}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	live, later := bound(), bound()
	if st := reviewToken(t, c, live); !st.Authenticated {
		t.Fatalf("pod-bound token while the pod lives: %+v", st)
	}
	if err := c.CoreV1().Pods("default").Delete(ctx, "holder", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pod holder gone", 10*time.Second, func() bool {
		_, err := c.CoreV1().Pods("default").Get(ctx, "holder", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if st := reviewToken(t, c, later); st.Authenticated || !strings.Contains(st.Error, "pod") {
		t.Errorf("pod-bound token after the pod's deletion = %+v", st)
	}

	// Tokens bound to a Secret or a Node live as long as it does, and a
	// Secret recreated under the same name does not revive them.
	holder, err := c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "holder"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "holder"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	boundTo := func(kind string, uid types.UID) string {
		tr, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: kind, APIVersion: "v1", Name: "holder", UID: uid}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("token bound to %s: %v", kind, err)
		}
		return tr.Status.Token
	}
	secretToken, nodeToken := boundTo("Secret", holder.UID), boundTo("Node", node.UID)
	if st := reviewToken(t, c, secretToken); !st.Authenticated {
		t.Errorf("secret-bound token while the secret lives: %+v", st)
	}
	if st := reviewToken(t, c, nodeToken); !st.Authenticated || !slices.Equal(st.User.Extra["authentication.kubernetes.io/node-uid"], []string{string(node.UID)}) {
		t.Errorf("node-bound token while the node lives: %+v", st)
	}
	secretLater, nodeLater := boundTo("Secret", holder.UID), boundTo("Node", node.UID)
	if err := c.CoreV1().Secrets("default").Delete(ctx, "holder", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "holder"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().Nodes().Delete(ctx, "holder", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node holder gone", 10*time.Second, func() bool {
		_, err := c.CoreV1().Nodes().Get(ctx, "holder", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if st := reviewToken(t, c, secretLater); st.Authenticated || !strings.Contains(st.Error, "secret") {
		t.Errorf("secret-bound token after the secret was recreated = %+v", st)
	}
	if st := reviewToken(t, c, nodeLater); st.Authenticated || !strings.Contains(st.Error, "node") {
		t.Errorf("node-bound token after the node's deletion = %+v", st)
	}
}

// TestTokenRequestAsUpstream: the checks and claims of upstream's
// TokenRequest: the pod must run as the account, the request's name and uid
// must match it, a pod's token names the pod's node, and the kubelet's
// 3607-second pod token lasts a year.
func TestTokenRequestAsUpstream(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	c := s.Client
	robot, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(name, account string) {
		_, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{ServiceAccountName: account, NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	pod("mine", "robot")
	pod("theirs", "default")
	request := func(tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
		return c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", tr, metav1.CreateOptions{})
	}
	boundTo := func(name string, seconds int64) *authenticationv1.TokenRequest {
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds,
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: name}}}
	}

	if _, err := request(boundTo("theirs", 3600)); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "different serviceaccount name") {
		t.Errorf("token bound to another account's pod: want 400, got %v", err)
	}
	if _, err := request(&authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{UID: "not-robots"}}); !apierrors.IsConflict(err) {
		t.Errorf("token request with another uid: want 409, got %v", err)
	}
	if _, err := request(&authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{Name: "other"}}); !apierrors.IsInvalid(err) {
		t.Errorf("token request naming another account: want 422, got %v", err)
	}

	tr, err := request(boundTo("mine", 3607))
	if err != nil {
		t.Fatal(err)
	}
	if tr.UID != robot.UID || time.Until(tr.Status.ExpirationTimestamp.Time) > 3608*time.Second {
		t.Errorf("token request = %+v", tr)
	}
	exp, warnAfter := tokenTimes(t, tr.Status.Token)
	if time.Until(exp) < 364*24*time.Hour || time.Until(warnAfter) > 3608*time.Second {
		t.Errorf("the kubelet's pod token: exp %v, warnafter %v; want a year and an hour", exp, warnAfter)
	}
	st := reviewToken(t, c, tr.Status.Token)
	if !st.Authenticated || !slices.Equal(st.User.Extra["authentication.kubernetes.io/node-name"], []string{"n1"}) ||
		!slices.Equal(st.User.Extra["authentication.kubernetes.io/node-uid"], []string{string(node.UID)}) {
		t.Errorf("review of a pod token = %+v", st)
	}
	tr, err = request(boundTo("mine", 3600))
	if err != nil {
		t.Fatal(err)
	}
	if exp, warnAfter := tokenTimes(t, tr.Status.Token); time.Until(exp) > 3601*time.Second || !warnAfter.IsZero() {
		t.Errorf("a 3600-second pod token: exp %v, warnafter %v", exp, warnAfter)
	}
}

// tokenTimes reads a JWT's exp and kubernetes.io warnafter, unverified.
func tokenTimes(t *testing.T, token string) (exp, warnAfter time.Time) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Exp        int64 `json:"exp"`
		Kubernetes struct {
			WarnAfter int64 `json:"warnafter"`
		} `json:"kubernetes.io"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Kubernetes.WarnAfter != 0 {
		warnAfter = time.Unix(claims.Kubernetes.WarnAfter, 0)
	}
	return time.Unix(claims.Exp, 0), warnAfter
}
