package validation

import (
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validMAP() *admissionv1.MutatingAdmissionPolicy {
	return &admissionv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "add-label", ResourceVersion: "1"},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			FailurePolicy:      ptr(admissionv1.Fail),
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			MatchConstraints:   validPolicyMatch(),
			Variables:          []admissionv1.Variable{{Name: "name", Expression: "object.metadata.name"}},
			Mutations: []admissionv1.Mutation{{
				PatchType:          admissionv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionv1.ApplyConfiguration{Expression: `Object{metadata: Object.metadata{labels: {"a": "b"}}}`},
			}},
		},
	}
}

func TestMutatingAdmissionPolicy(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *admissionv1.MutatingAdmissionPolicy)
		want   []string
	}{
		{"valid", func(*admissionv1.MutatingAdmissionPolicy) {}, nil},
		{"json patch", func(p *admissionv1.MutatingAdmissionPolicy) {
			p.Spec.Mutations = []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{Expression: "[]"}}}
		}, nil},
		{"required fields", func(p *admissionv1.MutatingAdmissionPolicy) {
			p.Spec.FailurePolicy, p.Spec.MatchConstraints, p.Spec.Mutations, p.Spec.ReinvocationPolicy = nil, nil, nil, ""
		}, []string{"FieldValueRequired spec.failurePolicy", "FieldValueRequired spec.matchConstraints",
			"FieldValueRequired spec.mutations", "FieldValueRequired spec.reinvocationPolicy"}},
		{"unknown enums", func(p *admissionv1.MutatingAdmissionPolicy) {
			p.Spec.ReinvocationPolicy = "Sometimes"
			p.Spec.Mutations[0].PatchType = "MergePatch"
		}, []string{"FieldValueNotSupported spec.mutations[0].patchType", "FieldValueNotSupported spec.reinvocationPolicy"}},
		{"delete cannot be mutated", func(p *admissionv1.MutatingAdmissionPolicy) {
			p.Spec.MatchConstraints.ResourceRules[0].Operations = []admissionv1.OperationType{admissionv1.Delete}
		}, []string{"FieldValueNotSupported spec.matchConstraints.resourceRules.operations"}},
		{"patch members", func(p *admissionv1.MutatingAdmissionPolicy) {
			p.Spec.Mutations = []admissionv1.Mutation{
				{PatchType: admissionv1.PatchTypeApplyConfiguration, JSONPatch: &admissionv1.JSONPatch{Expression: "[]"}},
				{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{Expression: "  "}},
			}
		}, []string{"FieldValueRequired spec.mutations[0].applyConfiguration", "FieldValueInvalid spec.mutations[0].jsonPatch",
			"FieldValueRequired spec.mutations[1].jsonPatch.expression"}},
		{"variable name", func(p *admissionv1.MutatingAdmissionPolicy) { p.Spec.Variables[0].Name = "in" },
			[]string{"FieldValueInvalid spec.variables[0].name"}},
		{"reserved name", func(p *admissionv1.MutatingAdmissionPolicy) { p.Name = "policy.static.k8s.io" },
			[]string{"FieldValueInvalid metadata.name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validMAP()
			tt.mutate(p)
			checkErrs(t, MutatingAdmissionPolicy(p), tt.want)
		})
	}
}

func TestMutatingAdmissionPolicyBinding(t *testing.T) {
	valid := func() *admissionv1.MutatingAdmissionPolicyBinding {
		return &admissionv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "add-label-binding"},
			Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "add-label", MatchResources: validPolicyMatch()},
		}
	}
	tests := []struct {
		name   string
		mutate func(b *admissionv1.MutatingAdmissionPolicyBinding)
		want   []string
	}{
		{"valid", func(*admissionv1.MutatingAdmissionPolicyBinding) {}, nil},
		{"no policy", func(b *admissionv1.MutatingAdmissionPolicyBinding) { b.Spec.PolicyName = "" }, []string{"FieldValueRequired spec.policyName"}},
		{"param ref without name or selector", func(b *admissionv1.MutatingAdmissionPolicyBinding) {
			b.Spec.ParamRef = &admissionv1.ParamRef{ParameterNotFoundAction: ptr(admissionv1.DenyAction)}
		}, []string{"FieldValueRequired spec.paramRef"}},
		{"delete cannot be mutated", func(b *admissionv1.MutatingAdmissionPolicyBinding) {
			b.Spec.MatchResources.ResourceRules[0].Operations = []admissionv1.OperationType{admissionv1.Delete}
		}, []string{"FieldValueNotSupported spec.matchResources.resourceRules.operations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := valid()
			tt.mutate(b)
			checkErrs(t, MutatingAdmissionPolicyBinding(b), tt.want)
		})
	}
}
