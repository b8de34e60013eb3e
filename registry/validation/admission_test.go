package validation

import (
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validValidatingWebhook is a webhook as the v1 defaults leave it.
func validValidatingWebhook(name string) admissionv1.ValidatingWebhook {
	return admissionv1.ValidatingWebhook{
		Name: name,
		ClientConfig: admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{
			Namespace: "policy", Name: "webhook", Path: ptr("/validate"), Port: ptr(int32(443)),
		}},
		Rules: []admissionv1.RuleWithOperations{{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule: admissionv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments", "deployments/scale"},
				Scope: ptr(admissionv1.AllScopes)},
		}},
		FailurePolicy:           ptr(admissionv1.Fail),
		MatchPolicy:             ptr(admissionv1.Equivalent),
		NamespaceSelector:       &metav1.LabelSelector{},
		ObjectSelector:          &metav1.LabelSelector{},
		SideEffects:             ptr(admissionv1.SideEffectClassNone),
		TimeoutSeconds:          ptr(int32(10)),
		AdmissionReviewVersions: []string{"v1"},
		MatchConditions:         []admissionv1.MatchCondition{{Name: "not-system", Expression: "!request.userInfo.username.startsWith('system:')"}},
	}
}

func validVWC() *admissionv1.ValidatingWebhookConfiguration {
	return &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "policy", ResourceVersion: "1"},
		Webhooks:   []admissionv1.ValidatingWebhook{validValidatingWebhook("deployments.policy.example.com")},
	}
}

func TestValidatingWebhookConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *admissionv1.ValidatingWebhookConfiguration)
		want   []string
	}{
		{name: "valid", mutate: func(*admissionv1.ValidatingWebhookConfiguration) {}},
		{name: "url client", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig = admissionv1.WebhookClientConfig{URL: ptr("https://hooks.example.com/validate")}
		}},
		{name: "namespace forbidden", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) { c.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "reserved static name", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) { c.Name = "policy.static.k8s.io" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "name fully qualified and unique", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].Name = "policy"
			c.Webhooks = append(c.Webhooks, c.Webhooks[0])
		}, want: []string{"FieldValueInvalid webhooks[0].name", "FieldValueInvalid webhooks[1].name", "FieldValueDuplicate webhooks[1].name"}},
		{name: "client config both", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.URL = ptr("https://hooks.example.com")
		}, want: []string{"FieldValueRequired webhooks[0].clientConfig"}},
		{name: "url rules", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig = admissionv1.WebhookClientConfig{URL: ptr("http://user@hooks.example.com/v?x=1#frag")}
		}, want: []string{"FieldValueInvalid webhooks[0].clientConfig.url", "FieldValueInvalid webhooks[0].clientConfig.url",
			"FieldValueInvalid webhooks[0].clientConfig.url", "FieldValueInvalid webhooks[0].clientConfig.url"}},
		{name: "service rules", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			s := c.Webhooks[0].ClientConfig.Service
			s.Name, s.Port, s.Path = "", ptr(int32(0)), ptr("validate")
		}, want: []string{"FieldValueRequired webhooks[0].clientConfig.service.namespace", "FieldValueInvalid webhooks[0].clientConfig.service.port",
			"FieldValueInvalid webhooks[0].clientConfig.service.path"}},
		{name: "side effects required", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) { c.Webhooks[0].SideEffects = nil },
			want: []string{"FieldValueRequired webhooks[0].sideEffects"}},
		{name: "side effects Some not on create", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].SideEffects = ptr(admissionv1.SideEffectClassSome)
		}, want: []string{"FieldValueNotSupported webhooks[0].sideEffects"}},
		{name: "policies and timeout", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].FailurePolicy = ptr(admissionv1.FailurePolicyType("Retry"))
			c.Webhooks[0].MatchPolicy = ptr(admissionv1.MatchPolicyType("Fuzzy"))
			c.Webhooks[0].TimeoutSeconds = ptr(int32(31))
		}, want: []string{"FieldValueNotSupported webhooks[0].failurePolicy", "FieldValueNotSupported webhooks[0].matchPolicy", "FieldValueInvalid webhooks[0].timeoutSeconds"}},
		{name: "review versions", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].AdmissionReviewVersions = []string{"v2", "v2", "V3"}
		}, want: []string{"FieldValueInvalid webhooks[0].admissionReviewVersions[1]", "FieldValueInvalid webhooks[0].admissionReviewVersions[2]",
			"FieldValueInvalid webhooks[0].admissionReviewVersions"}},
		{name: "review versions required", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) { c.Webhooks[0].AdmissionReviewVersions = nil },
			want: []string{"FieldValueRequired webhooks[0].admissionReviewVersions"}},
		{name: "rules", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			r := &c.Webhooks[0].Rules[0]
			r.Operations = []admissionv1.OperationType{"*", "PATCH"}
			r.APIGroups = nil
			r.APIVersions = []string{"*", ""}
			r.Resources = []string{"*/*", "pods"}
			r.Scope = ptr(admissionv1.ScopeType("Global"))
		}, want: []string{"FieldValueInvalid webhooks[0].rules[0].operations", "FieldValueNotSupported webhooks[0].rules[0].operations[1]",
			"FieldValueRequired webhooks[0].rules[0].apiGroups", "FieldValueInvalid webhooks[0].rules[0].apiVersions",
			"FieldValueRequired webhooks[0].rules[0].apiVersions[1]", "FieldValueInvalid webhooks[0].rules[0].resources",
			"FieldValueNotSupported webhooks[0].rules[0].scope"}},
		{name: "subresource wildcards", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].Rules[0].Resources = []string{"pods/*", "pods/status", "*/scale", "deployments/scale", "*", "pods"}
		}, want: []string{"FieldValueInvalid webhooks[0].rules[0].resources[1]", "FieldValueInvalid webhooks[0].rules[0].resources[3]",
			"FieldValueInvalid webhooks[0].rules[0].resources"}},
		{name: "selectors", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "-b"}}
		}, want: []string{"FieldValueInvalid webhooks[0].namespaceSelector.matchLabels"}},
		{name: "match conditions", mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions = append(c.Webhooks[0].MatchConditions,
				admissionv1.MatchCondition{Name: "not-system", Expression: " "},
				admissionv1.MatchCondition{Name: "a b", Expression: "true"},
				admissionv1.MatchCondition{Expression: "true"})
		}, want: []string{"FieldValueRequired webhooks[0].matchConditions[1].expression", "FieldValueDuplicate webhooks[0].matchConditions[1].name",
			"FieldValueInvalid webhooks[0].matchConditions[2].name", "FieldValueRequired webhooks[0].matchConditions[3].name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validVWC()
			tc.mutate(c)
			checkErrs(t, ValidatingWebhookConfiguration(c), tc.want)
		})
	}
}

func TestValidatingWebhookConfigurationUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    func(c *admissionv1.ValidatingWebhookConfiguration)
		mutate func(c *admissionv1.ValidatingWebhookConfiguration)
		want   []string
	}{
		{name: "strict when old was clean", old: func(*admissionv1.ValidatingWebhookConfiguration) {}, mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].SideEffects = ptr(admissionv1.SideEffectClassSome)
			c.Webhooks[0].AdmissionReviewVersions = []string{"v9"}
			c.Webhooks = append(c.Webhooks, c.Webhooks[0])
		}, want: []string{"FieldValueNotSupported webhooks[0].sideEffects", "FieldValueInvalid webhooks[0].admissionReviewVersions",
			"FieldValueNotSupported webhooks[1].sideEffects", "FieldValueInvalid webhooks[1].admissionReviewVersions", "FieldValueDuplicate webhooks[1].name"}},
		{name: "old violations tolerated", old: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].SideEffects = ptr(admissionv1.SideEffectClassUnknown)
			c.Webhooks[0].AdmissionReviewVersions = []string{"v9"}
			c.Webhooks[0].ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "a", Operator: metav1.LabelSelectorOpIn, Values: []string{"-b"}},
			}}
			c.Webhooks = append(c.Webhooks, c.Webhooks[0])
		}, mutate: func(c *admissionv1.ValidatingWebhookConfiguration) { c.Webhooks[1].TimeoutSeconds = ptr(int32(5)) }},
		{name: "unchanged match conditions not rechecked", old: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions[0].Name = "a b"
		}, mutate: func(c *admissionv1.ValidatingWebhookConfiguration) { c.Webhooks[0].TimeoutSeconds = ptr(int32(5)) }},
		{name: "changed match conditions rechecked", old: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions[0].Name = "a b"
		}, mutate: func(c *admissionv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions[0].Expression = "true"
		},
			want: []string{"FieldValueInvalid webhooks[0].matchConditions[0].name"}},
		{name: "static name not rechecked", old: func(c *admissionv1.ValidatingWebhookConfiguration) { c.Name = "policy.static.k8s.io" },
			mutate: func(*admissionv1.ValidatingWebhookConfiguration) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validVWC()
			tc.old(old)
			c := old.DeepCopy()
			tc.mutate(c)
			checkErrs(t, ValidatingWebhookConfigurationUpdate(c, old), tc.want)
		})
	}
}

func TestMutatingWebhookConfiguration(t *testing.T) {
	valid := func() *admissionv1.MutatingWebhookConfiguration {
		v := validValidatingWebhook("inject.sidecar.example.com")
		return &admissionv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "sidecar", ResourceVersion: "1"},
			Webhooks: []admissionv1.MutatingWebhook{{
				Name: v.Name, ClientConfig: v.ClientConfig, Rules: v.Rules, FailurePolicy: v.FailurePolicy, MatchPolicy: v.MatchPolicy,
				NamespaceSelector: v.NamespaceSelector, ObjectSelector: v.ObjectSelector, SideEffects: v.SideEffects,
				TimeoutSeconds: v.TimeoutSeconds, AdmissionReviewVersions: v.AdmissionReviewVersions,
				ReinvocationPolicy: ptr(admissionv1.NeverReinvocationPolicy),
			}},
		}
	}
	checkErrs(t, MutatingWebhookConfiguration(valid()), nil)
	bad := valid()
	bad.Webhooks[0].ReinvocationPolicy = ptr(admissionv1.ReinvocationPolicyType("Always"))
	bad.Webhooks[0].ClientConfig = admissionv1.WebhookClientConfig{}
	checkErrs(t, MutatingWebhookConfiguration(bad), []string{"FieldValueNotSupported webhooks[0].reinvocationPolicy", "FieldValueRequired webhooks[0].clientConfig"})

	old := valid()
	old.Webhooks[0].SideEffects = ptr(admissionv1.SideEffectClassSome)
	upd := old.DeepCopy()
	upd.Webhooks[0].TimeoutSeconds = ptr(int32(0))
	checkErrs(t, MutatingWebhookConfigurationUpdate(upd, old), []string{"FieldValueInvalid webhooks[0].timeoutSeconds"})
}
