package validation

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPodDisruptionBudget(t *testing.T) {
	valid := func() *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{ObjectMeta: meta(), Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: intstrp(intstr.FromString("50%")), Selector: webSelector(),
		}}
	}
	tests := []struct {
		name   string
		mutate func(p *policyv1.PodDisruptionBudget)
		want   []string
	}{
		{name: "valid", mutate: func(*policyv1.PodDisruptionBudget) {}},
		{name: "names are path segments", mutate: func(p *policyv1.PodDisruptionBudget) { p.Name = "Web_1" }},
		{name: "metadata checked once spec is valid", mutate: func(p *policyv1.PodDisruptionBudget) { p.Name = "a/b"; p.Namespace = "" },
			want: []string{"FieldValueInvalid metadata.name", "FieldValueRequired metadata.namespace"}},
		{name: "both set", mutate: func(p *policyv1.PodDisruptionBudget) { p.Spec.MaxUnavailable = intstrp(intstr.FromInt32(1)) },
			want: []string{"FieldValueInvalid spec"}},
		{name: "values", mutate: func(p *policyv1.PodDisruptionBudget) {
			p.Name = "a/b"
			p.Spec.MinAvailable = intstrp(intstr.FromString("120%"))
			p.Spec.UnhealthyPodEvictionPolicy = ptr(policyv1.UnhealthyPodEvictionPolicyType("Never"))
		}, want: []string{"FieldValueInvalid spec.minAvailable", "FieldValueNotSupported spec.unhealthyPodEvictionPolicy"}},
		{name: "negative", mutate: func(p *policyv1.PodDisruptionBudget) {
			p.Spec.MinAvailable = nil
			p.Spec.MaxUnavailable = intstrp(intstr.FromInt32(-1))
		}, want: []string{"FieldValueInvalid spec.maxUnavailable"}},
		{name: "selector", mutate: func(p *policyv1.PodDisruptionBudget) {
			p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
		}, want: []string{"FieldValueInvalid spec.selector.matchExpressions[0].operator"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.mutate(p)
			checkErrs(t, PodDisruptionBudget(p), tc.want)
		})
	}
	old := valid()
	p := old.DeepCopy()
	p.Spec.MinAvailable = intstrp(intstr.FromInt32(2))
	checkErrs(t, PodDisruptionBudgetUpdate(p, old), nil)
	p.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: -1, Conditions: []metav1.Condition{{Type: "DisruptionAllowed"}}}
	checkErrs(t, PodDisruptionBudgetStatusUpdate(p, old), []string{
		"FieldValueRequired status.conditions[0].status", "FieldValueRequired status.conditions[0].lastTransitionTime",
		"FieldValueRequired status.conditions[0].reason", "FieldValueInvalid status.disruptionsAllowed"})
}
