package app_test

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		if _, err := anon.Discovery().RESTClient().Get().AbsPath(path).DoRaw(ctx); err != nil {
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
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		t.Fatalf("%s: not within %v", what, timeout)
	}
}
