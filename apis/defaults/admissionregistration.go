package defaults

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// webhookTimeoutSeconds is how long the API server waits for a webhook that
// sets no timeoutSeconds.
const webhookTimeoutSeconds int32 = 10

// ValidatingWebhookConfiguration defaults every webhook of an
// admissionregistration.k8s.io/v1 validating webhook configuration:
// failurePolicy Fail, matchPolicy Equivalent, empty (match-all)
// namespaceSelector and objectSelector, timeoutSeconds 10, service port 443
// and rule scope "*". sideEffects and admissionReviewVersions are required
// in v1 and get no default.
func ValidatingWebhookConfiguration(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		setIfNil(&w.FailurePolicy, admissionregistrationv1.Fail)
		setIfNil(&w.MatchPolicy, admissionregistrationv1.Equivalent)
		setIfNil(&w.NamespaceSelector, metav1.LabelSelector{})
		setIfNil(&w.ObjectSelector, metav1.LabelSelector{})
		setIfNil(&w.TimeoutSeconds, webhookTimeoutSeconds)
		webhookClient(&w.ClientConfig)
		webhookRules(w.Rules)
	}
}

// MutatingWebhookConfiguration defaults every webhook of an
// admissionregistration.k8s.io/v1 mutating webhook configuration as
// ValidatingWebhookConfiguration does, plus reinvocationPolicy Never.
func MutatingWebhookConfiguration(c *admissionregistrationv1.MutatingWebhookConfiguration) {
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		setIfNil(&w.FailurePolicy, admissionregistrationv1.Fail)
		setIfNil(&w.MatchPolicy, admissionregistrationv1.Equivalent)
		setIfNil(&w.NamespaceSelector, metav1.LabelSelector{})
		setIfNil(&w.ObjectSelector, metav1.LabelSelector{})
		setIfNil(&w.TimeoutSeconds, webhookTimeoutSeconds)
		setIfNil(&w.ReinvocationPolicy, admissionregistrationv1.NeverReinvocationPolicy)
		webhookClient(&w.ClientConfig)
		webhookRules(w.Rules)
	}
}

// webhookClient sets port 443 on a service reference without a port.
func webhookClient(c *admissionregistrationv1.WebhookClientConfig) {
	if c.Service != nil {
		setIfNil(&c.Service.Port, int32(443))
	}
}

// webhookRules sets scope "*" on every rule without a scope.
func webhookRules(rules []admissionregistrationv1.RuleWithOperations) {
	for i := range rules {
		setIfNil(&rules[i].Scope, admissionregistrationv1.AllScopes)
	}
}

// ValidatingAdmissionPolicy defaults an admissionregistration.k8s.io/v1
// validating admission policy: failurePolicy Fail, and matchConstraints, when
// set, as described at matchResources.
func ValidatingAdmissionPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
	setIfNil(&p.Spec.FailurePolicy, admissionregistrationv1.Fail)
	matchResources(p.Spec.MatchConstraints)
}

// ValidatingAdmissionPolicyBinding defaults an
// admissionregistration.k8s.io/v1 validating admission policy binding: its
// matchResources, when set, as described at matchResources.
func ValidatingAdmissionPolicyBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	matchResources(b.Spec.MatchResources)
}

// MutatingAdmissionPolicy defaults an admissionregistration.k8s.io/v1
// mutating admission policy as ValidatingAdmissionPolicy does.
func MutatingAdmissionPolicy(p *admissionregistrationv1.MutatingAdmissionPolicy) {
	setIfNil(&p.Spec.FailurePolicy, admissionregistrationv1.Fail)
	matchResources(p.Spec.MatchConstraints)
}

// MutatingAdmissionPolicyBinding defaults an admissionregistration.k8s.io/v1
// mutating admission policy binding as ValidatingAdmissionPolicyBinding does.
func MutatingAdmissionPolicyBinding(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
	matchResources(b.Spec.MatchResources)
}

// matchResources defaults the match criteria of an admission policy or
// binding, which may be nil: matchPolicy Equivalent, empty (match-all)
// namespaceSelector and objectSelector, and scope "*" on every resource and
// excluded-resource rule without one.
func matchResources(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	setIfNil(&m.MatchPolicy, admissionregistrationv1.Equivalent)
	setIfNil(&m.NamespaceSelector, metav1.LabelSelector{})
	setIfNil(&m.ObjectSelector, metav1.LabelSelector{})
	for _, rules := range [][]admissionregistrationv1.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			setIfNil(&rules[i].Scope, admissionregistrationv1.AllScopes)
		}
	}
}
