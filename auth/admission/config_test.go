package admission_test

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/auth/admission"
	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

func privileged(p *corev1.Pod) {
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
}

// TestAdmissionConfigFile: an AdmissionConfiguration file
// (--admission-control-config-file) sets PodSecurity's cluster defaults and
// exemptions, as upstream's: unlabelled namespaces enforce baseline and warn
// restricted, the exempt namespace neither.
func TestAdmissionConfigFile(t *testing.T) {
	dir := t.TempDir()
	// PodSecurity's configuration in a file of its own, the path relative
	// to the AdmissionConfiguration's.
	if err := os.WriteFile(filepath.Join(dir, "podsecurity.yaml"), []byte(`apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults:
  enforce: baseline
  enforce-version: latest
  warn: restricted
  warn-version: latest
exemptions:
  namespaces: ["exempt"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "admission.yaml")
	if err := os.WriteFile(config, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  path: podsecurity.yaml
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testserver.StartWith(t, app.ServerConfig{DataDir: filepath.Join(dir, "data"), Admission: app.AdmissionConfig{ConfigFile: config}})
	ctx := t.Context()
	s.CreateNamespace(t, "psa")
	s.CreateNamespace(t, "exempt")

	_, err := s.Client.CoreV1().Pods("psa").Create(ctx, pod("priv", privileged), metav1.CreateOptions{})
	wantError(t, err, apierrors.IsForbidden, `pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`)

	w := &warnings{}
	cfg := rest.CopyConfig(s.Config)
	cfg.WarningHandler = w
	client := kubernetes.NewForConfigOrDie(cfg)
	if _, err := client.CoreV1().Pods("psa").Create(ctx, pod("plain"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("baseline pod: %v", err)
	}
	if len(w.got) != 1 || !strings.HasPrefix(w.got[0], `would violate PodSecurity "restricted:latest": `) {
		t.Errorf("warnings %q, want one of restricted:latest", w.got)
	}
	if _, err := s.Client.CoreV1().Pods("exempt").Create(ctx, pod("priv", privileged), metav1.CreateOptions{}); err != nil {
		t.Errorf("privileged pod in an exempt namespace: %v", err)
	}
	// A namespace's labels still win over the defaults.
	s.CreateNamespace(t, "open")
	ns, err := s.Client.CoreV1().Namespaces().Get(ctx, "open", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
	if _, err := s.Client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Pods("open").Create(ctx, pod("priv", privileged), metav1.CreateOptions{}); err != nil {
		t.Errorf("privileged pod in a namespace enforcing privileged: %v", err)
	}
}

// TestDisableAdmissionPlugins: --disable-admission-plugins=PodSecurity turns
// the plugin off: a namespace enforcing restricted takes a privileged pod.
func TestDisableAdmissionPlugins(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Admission: app.AdmissionConfig{Disable: []string{"PodSecurity"}}})
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "strict", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.WaitForServiceAccount(t, "strict")
	if _, err := s.Client.CoreV1().Pods("strict").Create(ctx, pod("priv", privileged), metav1.CreateOptions{}); err != nil {
		t.Errorf("privileged pod with PodSecurity disabled: %v", err)
	}
}

// TestValidatePlugins: unknown names and names both enabled and disabled
// are refused, as upstream's flags are.
func TestValidatePlugins(t *testing.T) {
	for _, tc := range []struct {
		enable, disable []string
		want            string
	}{
		{enable: []string{"NodeRestriction"}, disable: []string{"PodSecurity", "ResourceQuota"}},
		{enable: []string{"AlwaysPullImages"}, want: `enable-admission-plugins plugin "AlwaysPullImages" is unknown`},
		{disable: []string{"Nope"}, want: `disable-admission-plugins plugin "Nope" is unknown`},
		{enable: []string{"PodSecurity"}, disable: []string{"PodSecurity"}, want: `[PodSecurity] in enable-admission-plugins and disable-admission-plugins overlapped`},
	} {
		err := admission.ValidatePlugins(tc.enable, tc.disable)
		if got := ""; err != nil && err.Error() != tc.want || err == nil && tc.want != got {
			t.Errorf("ValidatePlugins(%v, %v) = %v, want %q", tc.enable, tc.disable, err, tc.want)
		}
	}
	if err := (app.ServerConfig{Admission: app.AdmissionConfig{Enable: []string{"Bogus"}}}).Validate(); err == nil || !strings.Contains(err.Error(), `"Bogus" is unknown`) {
		t.Errorf("server config with an unknown plugin: %v", err)
	}
}

// TestWebhookKubeconfigFromAdmissionConfig: the webhooks' kubeConfigFile in
// the AdmissionConfiguration gives the API server its credentials for a
// webhook: here a bearer token, without which the webhook refuses.
func TestWebhookKubeconfigFromAdmissionConfig(t *testing.T) {
	ip := hostIP(t)
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("hook", []net.IP{ip}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	var authed, unauthed atomic.Int32
	hook := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		resp := &admissionv1.AdmissionResponse{UID: in.Request.UID, Allowed: r.Header.Get("Authorization") == "Bearer hook-secret"}
		if resp.Allowed {
			authed.Add(1)
		} else {
			unauthed.Add(1)
			resp.Result = &metav1.Status{Code: http.StatusUnauthorized, Message: "no credentials"}
		}
		_ = json.NewEncoder(w).Encode(admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: resp})
	}))
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	hook.Listener.Close()
	hook.Listener = l
	hook.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	hook.StartTLS()
	t.Cleanup(hook.Close)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.kubeconfig"), []byte(`apiVersion: v1
kind: Config
users:
- name: "*"
  user: {token: hook-secret}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "admission.yaml")
	if err := os.WriteFile(config, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: ValidatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: `+filepath.Join(dir, "hook.kubeconfig")+`
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testserver.StartWith(t, app.ServerConfig{DataDir: filepath.Join(dir, "data"), Admission: app.AdmissionConfig{ConfigFile: config}})
	ctx := t.Context()
	namespace(t, s.Client, "authed", map[string]string{"hook": "authed"})
	url := hook.URL + "/"
	if _, err := s.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "authed"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "authed.example.com", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: certPEM},
			Rules: configMapRule, NamespaceSelector: hookNamespace("authed"), FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Once the webhook is seen, creates pass through it with the token.
	eventually(t, "authed", func(name string) error {
		_, err := s.Client.CoreV1().ConfigMaps("authed").Create(ctx, configMap(name, nil, nil), metav1.CreateOptions{})
		return err
	}, func(err error) bool { return err == nil && authed.Load() > 0 })
	if n := unauthed.Load(); n > 0 {
		t.Errorf("the webhook was called %d times without the kubeconfig's token", n)
	}
}
