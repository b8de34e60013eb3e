package admission_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// webhookServer serves the test's admission webhooks over TLS on a
// non-loopback address of this host (an EndpointSlice may not name a
// loopback one), with a certificate for it and for the Service name
// webhook.hooks.svc: /deny refuses, /mutate labels the object mutated=yes,
// /slow answers after the caller gave up. It returns the server and its CA
// bundle.
func webhookServer(t *testing.T) (*httptest.Server, []byte) {
	t.Helper()
	ip := hostIP(t)
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("webhook.hooks.svc", []net.IP{ip}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	review := func(w http.ResponseWriter, r *http.Request, respond func(*admissionv1.AdmissionResponse)) {
		var in admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: &admissionv1.AdmissionResponse{UID: in.Request.UID}}
		respond(out.Response)
		_ = json.NewEncoder(w).Encode(out)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/deny", func(w http.ResponseWriter, r *http.Request) {
		review(w, r, func(resp *admissionv1.AdmissionResponse) {
			resp.Result = &metav1.Status{Code: http.StatusForbidden, Message: "the test webhook says no"}
		})
	})
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		review(w, r, func(resp *admissionv1.AdmissionResponse) {
			resp.Allowed = true
			resp.PatchType = ptr.To(admissionv1.PatchTypeJSONPatch)
			resp.Patch = []byte(`[{"op":"add","path":"/metadata/labels","value":{"mutated":"yes"}}]`)
		})
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
		review(w, r, func(resp *admissionv1.AdmissionResponse) { resp.Allowed = true })
	})
	srv := httptest.NewUnstartedServer(mux)
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, certPEM
}

// hostIP is an IPv4 address of this host outside the loopback range.
func hostIP(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP
		}
	}
	t.Skip("no non-loopback IPv4 address to serve the webhooks on")
	return nil
}

// namespace creates a namespace with labels.
func namespace(t *testing.T, client kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func configMap(name string, labels map[string]string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: data}
}

// eventually retries create until check accepts its error: a configuration
// takes effect once the plugins' informers have seen it.
func eventually(t *testing.T, what string, create func(name string) error, check func(error) bool) error {
	t.Helper()
	var last error
	i := 0
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		i++
		last = create(what + "-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26))
		return check(last), nil
	})
	if err != nil {
		t.Fatalf("%s: never got the expected answer; last error: %v", what, last)
	}
	return last
}

var configMapRule = []admissionregistrationv1.RuleWithOperations{{
	Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
	Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
}}

func hookNamespace(label string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"hook": label}}
}

// TestWebhooks: validating and mutating webhooks, by URL and by Service,
// with namespace and object selectors, match conditions, and timeouts under
// both failure policies.
func TestWebhooks(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	hooks, caBundle := webhookServer(t)
	url := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{URL: ptr.To(hooks.URL + path), CABundle: caBundle}
	}
	none := ptr.To(admissionregistrationv1.SideEffectClassNone)
	fail, ignore := ptr.To(admissionregistrationv1.Fail), ptr.To(admissionregistrationv1.Ignore)
	versions := []string{"v1"}

	t.Run("deny with selectors and match conditions", func(t *testing.T) {
		namespace(t, s.Client, "deny", map[string]string{"hook": "deny"})
		namespace(t, s.Client, "deny-other", nil)
		cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "deny"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{
				Name: "deny.kubelite.test", ClientConfig: url("/deny"), Rules: configMapRule,
				NamespaceSelector: hookNamespace("deny"),
				ObjectSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"deny": "yes"}},
				MatchConditions: []admissionregistrationv1.MatchCondition{{
					Name: "not-spared", Expression: `!object.metadata.name.startsWith("spared")`,
				}},
				SideEffects: none, AdmissionReviewVersions: versions, FailurePolicy: fail,
			}},
		}
		if _, err := s.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cms := s.Client.CoreV1().ConfigMaps
		err := eventually(t, "denied", func(name string) error {
			_, err := cms("deny").Create(ctx, configMap(name, map[string]string{"deny": "yes"}, nil), metav1.CreateOptions{})
			return err
		}, apierrors.IsForbidden)
		// Upstream's answer: the webhook's code, no reason of its own, the
		// message prefixed with the webhook's name.
		want := metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden,
			Message: `admission webhook "deny.kubelite.test" denied the request: the test webhook says no`}
		if st := err.(apierrors.APIStatus).Status(); st.Status != want.Status || st.Code != want.Code || st.Reason != want.Reason || st.Message != want.Message {
			t.Errorf("status = %+v, want %+v", st, want)
		}
		// Not selected: another namespace, an object without the label, a
		// name the match condition spares.
		for _, c := range []struct {
			ns, name string
			labels   map[string]string
		}{{"deny-other", "elsewhere", map[string]string{"deny": "yes"}}, {"deny", "unlabelled", nil}, {"deny", "spared", map[string]string{"deny": "yes"}}} {
			if _, err := cms(c.ns).Create(ctx, configMap(c.name, c.labels, nil), metav1.CreateOptions{}); err != nil {
				t.Errorf("%s/%s: %v", c.ns, c.name, err)
			}
		}
	})

	t.Run("mutate through a Service", func(t *testing.T) {
		namespace(t, s.Client, "hooks", nil)
		namespace(t, s.Client, "mutate", map[string]string{"hook": "mutate"})
		host, portText, _ := net.SplitHostPort(hooks.Listener.Addr().String())
		port := intstr.Parse(portText).IntVal
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "webhook"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(port)}}},
		}
		if _, err := s.Client.CoreV1().Services("hooks").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "webhook-1", Labels: map[string]string{discoveryv1.LabelServiceName: "webhook"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To(port)}},
		}
		if _, err := s.Client.DiscoveryV1().EndpointSlices("hooks").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "mutate"},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name: "mutate.kubelite.test",
				ClientConfig: admissionregistrationv1.WebhookClientConfig{
					Service:  &admissionregistrationv1.ServiceReference{Namespace: "hooks", Name: "webhook", Path: ptr.To("/mutate"), Port: ptr.To[int32](443)},
					CABundle: caBundle,
				},
				Rules: configMapRule, NamespaceSelector: hookNamespace("mutate"),
				SideEffects: none, AdmissionReviewVersions: versions, FailurePolicy: fail,
			}},
		}
		if _, err := s.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var got *corev1.ConfigMap
		eventually(t, "mutated", func(name string) error {
			var err error
			got, err = s.Client.CoreV1().ConfigMaps("mutate").Create(ctx, configMap(name, nil, nil), metav1.CreateOptions{})
			return err
		}, func(err error) bool {
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			return got.Labels["mutated"] == "yes"
		})
		stored, err := s.Client.CoreV1().ConfigMaps("mutate").Get(ctx, got.Name, metav1.GetOptions{})
		if err != nil || stored.Labels["mutated"] != "yes" {
			t.Errorf("stored object not mutated: %v %v", stored.Labels, err)
		}
	})

	t.Run("timeouts", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			policy *admissionregistrationv1.FailurePolicyType
		}{{"slow-fail", fail}, {"slow-ignore", ignore}} {
			namespace(t, s.Client, c.name, map[string]string{"hook": c.name})
			cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
				ObjectMeta: metav1.ObjectMeta{Name: c.name},
				Webhooks: []admissionregistrationv1.ValidatingWebhook{{
					Name: c.name + ".kubelite.test", ClientConfig: url("/slow"), Rules: configMapRule,
					NamespaceSelector: hookNamespace(c.name), TimeoutSeconds: ptr.To[int32](1),
					SideEffects: none, AdmissionReviewVersions: versions, FailurePolicy: c.policy,
				}},
			}
			if _, err := s.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		cms := s.Client.CoreV1().ConfigMaps
		err := eventually(t, "failed", func(name string) error {
			_, err := cms("slow-fail").Create(ctx, configMap(name, nil, nil), metav1.CreateOptions{})
			return err
		}, func(err error) bool { return err != nil })
		if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `failed calling webhook "slow-fail.kubelite.test"`) ||
			!strings.Contains(err.Error(), "context deadline exceeded") {
			t.Errorf("Fail policy: error = %v, want an internal error naming the webhook and the deadline", err)
		}
		start := time.Now()
		if _, err := cms("slow-ignore").Create(ctx, configMap("ignored", nil, nil), metav1.CreateOptions{}); err != nil {
			t.Errorf("Ignore policy: %v", err)
		}
		// The webhook was called (the configuration is seen by now, as the
		// other's was) and given up on after its one-second timeout.
		if d := time.Since(start); d < time.Second {
			t.Errorf("Ignore policy: admitted after %v, before the webhook timed out", d)
		}
	})
}
