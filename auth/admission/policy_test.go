package admission_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestPolicyParamsAndActions: a ValidatingAdmissionPolicy with a parameter
// kind, bound three times: with a paramRef and Deny, with the same paramRef
// and Warn plus Audit (the request passes, with upstream's warning and
// audit annotations), and with a paramRef to a missing object, which denies
// (parameterNotFoundAction Deny).
func TestPolicyParamsAndActions(t *testing.T) {
	dir := t.TempDir()
	audit := testserver.AuditLog(t, dir, `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources: [{group: "", resources: ["configmaps"]}]
- level: None
`)
	s := testserver.StartWith(t, app.ServerConfig{DataDir: filepath.Join(dir, "data"), Audit: audit})
	ctx := t.Context()
	reg := s.Client.AdmissionregistrationV1()
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, configMap("limits", nil, map[string]string{"maxKeys": "1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "max-keys"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			ParamKind:     &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: configMapRule[0],
			}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression:        "!has(object.data) || object.data.size() <= int(params.data.maxKeys)",
				MessageExpression: "'at most ' + params.data.maxKeys + ' keys'",
			}},
			AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{Key: "keys", ValueExpression: "string(has(object.data) ? object.data.size() : 0)"}},
		},
	}
	if _, err := reg.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		name, param string
		actions     []admissionregistrationv1.ValidationAction
	}{
		{"max-keys-deny", "limits", []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
		{"max-keys-warn", "limits", []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn, admissionregistrationv1.Audit}},
		{"max-keys-missing", "nothing", []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	} {
		label := strings.TrimPrefix(b.name, "max-keys-")
		namespace(t, s.Client, "params-"+label, map[string]string{"params": label})
		binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: b.name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName: "max-keys",
				ParamRef: &admissionregistrationv1.ParamRef{Name: b.param, Namespace: "default",
					ParameterNotFoundAction: ptr.To(admissionregistrationv1.DenyAction)},
				ValidationActions: b.actions,
				MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"params": label}}},
			},
		}
		if _, err := reg.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	two := map[string]string{"a": "1", "b": "2"}

	// Deny, with the parameter's limit in the message.
	err := eventually(t, "two", func(name string) error {
		_, err := s.Client.CoreV1().ConfigMaps("params-deny").Create(ctx, configMap(name, nil, two), metav1.CreateOptions{})
		return err
	}, apierrors.IsInvalid)
	if want := "ValidatingAdmissionPolicy 'max-keys' with binding 'max-keys-deny' denied request: at most 1 keys"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %q, want it to end in %q", err, want)
	}
	if _, err := s.Client.CoreV1().ConfigMaps("params-deny").Create(ctx, configMap("one", nil, map[string]string{"a": "1"}), metav1.CreateOptions{}); err != nil {
		t.Errorf("config map within the limit: %v", err)
	}

	// A missing parameter object denies.
	err = eventually(t, "any", func(name string) error {
		_, err := s.Client.CoreV1().ConfigMaps("params-missing").Create(ctx, configMap(name, nil, nil), metav1.CreateOptions{})
		return err
	}, func(err error) bool { return err != nil })
	if want := "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}

	// Warn and Audit: the request passes with a warning and audit
	// annotations.
	w := &warnings{}
	cfg := rest.CopyConfig(s.Config)
	cfg.WarningHandler = w
	warned := kubernetes.NewForConfigOrDie(cfg)
	wantWarning := "Validation failed for ValidatingAdmissionPolicy 'max-keys' with binding 'max-keys-warn': at most 1 keys"
	var created string
	eventually(t, "two", func(name string) error {
		w.got = nil
		created = name
		_, err := warned.CoreV1().ConfigMaps("params-warn").Create(ctx, configMap(name, nil, two), metav1.CreateOptions{})
		return err
	}, func(err error) bool { return err == nil && len(w.got) == 1 })
	if w.got[0] != wantWarning {
		t.Errorf("warning %q, want %q", w.got[0], wantWarning)
	}
	var annotations map[string]string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		for _, e := range testserver.AuditEvents(t, audit.LogPath) {
			if e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Namespace == "params-warn" && e.ObjectRef.Name == created && e.Stage == auditv1.StageResponseComplete {
				annotations = e.Annotations
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no audit event of the warned create: %v", err)
	}
	wantFailure := `[{"message":"at most 1 keys","policy":"max-keys","binding":"max-keys-warn","expressionIndex":0,"validationActions":["Warn","Audit"]}]`
	if got := annotations["validation.policy.admission.k8s.io/validation_failure"]; got != wantFailure {
		t.Errorf("validation_failure annotation %q, want %q", got, wantFailure)
	}
	if got := annotations["max-keys/keys"]; got != "2" {
		t.Errorf("max-keys/keys annotation %q, want \"2\" (all: %v)", got, annotations)
	}
}
