package defaults

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podRule is a webhook or policy rule on pods with the given scope.
func podRule(scope *admissionregistrationv1.ScopeType) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: scope},
	}
}

func TestValidatingWebhookConfiguration(t *testing.T) {
	sideEffects := new(admissionregistrationv1.SideEffectClassNone)
	runCases(t, ValidatingWebhookConfiguration, []defaultCase[admissionregistrationv1.ValidatingWebhookConfiguration]{{
		name: "minimal webhook",
		in: admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "v.example.com",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc"}},
			Rules:                   []admissionregistrationv1.RuleWithOperations{podRule(nil)},
			SideEffects:             sideEffects,
			AdmissionReviewVersions: []string{"v1"},
		}}},
		want: admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "v.example.com",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc", Port: new(int32(443))}},
			Rules:                   []admissionregistrationv1.RuleWithOperations{podRule(new(admissionregistrationv1.AllScopes))},
			FailurePolicy:           new(admissionregistrationv1.Fail),
			MatchPolicy:             new(admissionregistrationv1.Equivalent),
			NamespaceSelector:       &metav1.LabelSelector{},
			ObjectSelector:          &metav1.LabelSelector{},
			SideEffects:             sideEffects,
			TimeoutSeconds:          new(int32(10)),
			AdmissionReviewVersions: []string{"v1"},
		}}},
	}, {
		name: "set fields kept, URL client gets no port",
		in: admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			ClientConfig:      admissionregistrationv1.WebhookClientConfig{URL: new("https://example.com")},
			Rules:             []admissionregistrationv1.RuleWithOperations{podRule(new(admissionregistrationv1.NamespacedScope))},
			FailurePolicy:     new(admissionregistrationv1.Ignore),
			MatchPolicy:       new(admissionregistrationv1.Exact),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
			ObjectSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"c": "d"}},
			TimeoutSeconds:    new(int32(3)),
		}}},
		want: admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			ClientConfig:      admissionregistrationv1.WebhookClientConfig{URL: new("https://example.com")},
			Rules:             []admissionregistrationv1.RuleWithOperations{podRule(new(admissionregistrationv1.NamespacedScope))},
			FailurePolicy:     new(admissionregistrationv1.Ignore),
			MatchPolicy:       new(admissionregistrationv1.Exact),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
			ObjectSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"c": "d"}},
			TimeoutSeconds:    new(int32(3)),
		}}},
	}})
}

func TestMutatingWebhookConfiguration(t *testing.T) {
	runCases(t, MutatingWebhookConfiguration, []defaultCase[admissionregistrationv1.MutatingWebhookConfiguration]{{
		name: "minimal webhook gets reinvocationPolicy Never too",
		in: admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         "m.example.com",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc", Port: new(int32(8443))}},
			Rules:        []admissionregistrationv1.RuleWithOperations{podRule(nil)},
		}}},
		want: admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:               "m.example.com",
			ClientConfig:       admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc", Port: new(int32(8443))}},
			Rules:              []admissionregistrationv1.RuleWithOperations{podRule(new(admissionregistrationv1.AllScopes))},
			FailurePolicy:      new(admissionregistrationv1.Fail),
			MatchPolicy:        new(admissionregistrationv1.Equivalent),
			NamespaceSelector:  &metav1.LabelSelector{},
			ObjectSelector:     &metav1.LabelSelector{},
			TimeoutSeconds:     new(int32(10)),
			ReinvocationPolicy: new(admissionregistrationv1.NeverReinvocationPolicy),
		}}},
	}, {
		name: "reinvocationPolicy kept",
		in: admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
			ReinvocationPolicy: new(admissionregistrationv1.IfNeededReinvocationPolicy),
		}}},
		want: admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
			FailurePolicy:      new(admissionregistrationv1.Fail),
			MatchPolicy:        new(admissionregistrationv1.Equivalent),
			NamespaceSelector:  &metav1.LabelSelector{},
			ObjectSelector:     &metav1.LabelSelector{},
			TimeoutSeconds:     new(int32(10)),
			ReinvocationPolicy: new(admissionregistrationv1.IfNeededReinvocationPolicy),
		}}},
	}})
}

// matchIn is a policy's match criteria as a client sends them.
func matchIn() *admissionregistrationv1.MatchResources {
	return &admissionregistrationv1.MatchResources{
		ResourceRules:        []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: podRule(nil)}},
		ExcludeResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{ResourceNames: []string{"x"}, RuleWithOperations: podRule(nil)}},
	}
}

// matchWant is matchIn after defaulting.
func matchWant() *admissionregistrationv1.MatchResources {
	all := new(admissionregistrationv1.AllScopes)
	return &admissionregistrationv1.MatchResources{
		NamespaceSelector:    &metav1.LabelSelector{},
		ObjectSelector:       &metav1.LabelSelector{},
		MatchPolicy:          new(admissionregistrationv1.Equivalent),
		ResourceRules:        []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: podRule(all)}},
		ExcludeResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{ResourceNames: []string{"x"}, RuleWithOperations: podRule(all)}},
	}
}

func TestAdmissionPolicies(t *testing.T) {
	runCases(t, ValidatingAdmissionPolicy, []defaultCase[admissionregistrationv1.ValidatingAdmissionPolicy]{{
		name: "failurePolicy Fail, no match constraints",
		in:   admissionregistrationv1.ValidatingAdmissionPolicy{},
		want: admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: new(admissionregistrationv1.Fail)}},
	}, {
		name: "match constraints defaulted",
		in:   admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: matchIn()}},
		want: admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    new(admissionregistrationv1.Fail),
			MatchConstraints: matchWant(),
		}},
	}, {
		name: "failurePolicy kept",
		in:   admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: new(admissionregistrationv1.Ignore)}},
		want: admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{FailurePolicy: new(admissionregistrationv1.Ignore)}},
	}})
	runCases(t, ValidatingAdmissionPolicyBinding, []defaultCase[admissionregistrationv1.ValidatingAdmissionPolicyBinding]{{
		name: "no matchResources, nothing to do",
		in:   admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p"}},
		want: admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p"}},
	}, {
		name: "matchResources defaulted",
		in:   admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{MatchResources: matchIn()}},
		want: admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{MatchResources: matchWant()}},
	}})
	runCases(t, MutatingAdmissionPolicy, []defaultCase[admissionregistrationv1.MutatingAdmissionPolicy]{{
		name: "failurePolicy Fail and match constraints",
		in:   admissionregistrationv1.MutatingAdmissionPolicy{Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{MatchConstraints: matchIn()}},
		want: admissionregistrationv1.MutatingAdmissionPolicy{Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			FailurePolicy:    new(admissionregistrationv1.Fail),
			MatchConstraints: matchWant(),
		}},
	}})
	runCases(t, MutatingAdmissionPolicyBinding, []defaultCase[admissionregistrationv1.MutatingAdmissionPolicyBinding]{{
		name: "matchResources defaulted",
		in:   admissionregistrationv1.MutatingAdmissionPolicyBinding{Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{MatchResources: matchIn()}},
		want: admissionregistrationv1.MutatingAdmissionPolicyBinding{Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{MatchResources: matchWant()}},
	}})
}
