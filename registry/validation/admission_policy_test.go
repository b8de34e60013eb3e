package validation

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validPolicyMatch is MatchResources as the v1 defaults leave it.
func validPolicyMatch() *admissionv1.MatchResources {
	return &admissionv1.MatchResources{
		NamespaceSelector: &metav1.LabelSelector{},
		ObjectSelector:    &metav1.LabelSelector{},
		MatchPolicy:       ptr(admissionv1.Equivalent),
		ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create},
			Rule:       admissionv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}, Scope: ptr(admissionv1.AllScopes)},
		}}},
	}
}

func validVAP() *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "replica-limit", ResourceVersion: "1"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr(admissionv1.Fail),
			ParamKind:        &admissionv1.ParamKind{APIVersion: "rules.example.com/v1", Kind: "ReplicaLimit"},
			MatchConstraints: validPolicyMatch(),
			MatchConditions:  []admissionv1.MatchCondition{{Name: "has-replicas", Expression: "has(object.spec.replicas)"}},
			Variables:        []admissionv1.Variable{{Name: "replicas", Expression: "object.spec.replicas"}},
			Validations:      []admissionv1.Validation{{Expression: "variables.replicas <= params.maxReplicas", Reason: ptr(metav1.StatusReasonInvalid)}},
			AuditAnnotations: []admissionv1.AuditAnnotation{{Key: "high-replicas", ValueExpression: "'replicas: ' + string(variables.replicas)"}},
		},
	}
}

func TestValidatingAdmissionPolicy(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *admissionv1.ValidatingAdmissionPolicy)
		want   []string
	}{
		{name: "valid", mutate: func(*admissionv1.ValidatingAdmissionPolicy) {}},
		{name: "core param kind", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) {
			p.Spec.ParamKind = &admissionv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		}},
		{name: "uncompiled CEL is accepted", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) { p.Spec.Validations[0].Expression = "((" }},
		{name: "reserved static name", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) { p.Name = "x.static.k8s.io" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "required fields", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) {
			p.Spec.FailurePolicy, p.Spec.MatchConstraints = nil, nil
			p.Spec.Validations, p.Spec.AuditAnnotations = nil, nil
		}, want: []string{"FieldValueRequired spec.failurePolicy", "FieldValueRequired spec.matchConstraints",
			"FieldValueRequired spec.validations", "FieldValueRequired spec.auditAnnotations"}},
		{name: "param kind", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) {
			p.Spec.ParamKind = &admissionv1.ParamKind{APIVersion: "Rules_Example/v1/x", Kind: "Replica_Limit"}
		}, want: []string{"FieldValueInvalid spec.paramKind.apiVersion", "FieldValueInvalid spec.paramKind.kind"}},
		{name: "param kind version", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) {
			p.Spec.ParamKind = &admissionv1.ParamKind{APIVersion: "rules.example.com/"}
		}, want: []string{"FieldValueInvalid spec.paramKind.apiVersion", "FieldValueRequired spec.paramKind.kind"}},
		{name: "match constraints", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) {
			m := p.Spec.MatchConstraints
			m.MatchPolicy, m.NamespaceSelector = nil, nil
			m.ExcludeResourceRules = m.ResourceRules
			m.ExcludeResourceRules[0].ResourceNames = []string{"a", "a", "x/y"}
			m.ResourceRules = nil
		}, want: []string{"FieldValueRequired spec.matchConstraints.matchPolicy", "FieldValueRequired spec.matchConstraints.namespaceSelector",
			"FieldValueDuplicate spec.matchConstraints.excludeResourceRules[0].resourceNames[1]",
			"FieldValueInvalid spec.matchConstraints.excludeResourceRules[0].resourceNames[2]",
			"FieldValueRequired spec.matchConstraints.resourceRules"}},
		{name: "variables", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) {
			p.Spec.Variables = []admissionv1.Variable{{Name: "in", Expression: "1"}, {Name: " ", Expression: ""}}
		}, want: []string{"FieldValueInvalid spec.variables[0].name", "FieldValueRequired spec.variables[1].name", "FieldValueRequired spec.variables[1].expression"}},
		{name: "validations", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) {
			p.Spec.Validations = append(p.Spec.Validations,
				admissionv1.Validation{Expression: " ", Message: "a\nb", MessageExpression: " "},
				admissionv1.Validation{Expression: "true", Message: " ", Reason: ptr(metav1.StatusReasonNotFound)})
		}, want: []string{"FieldValueRequired spec.validations[1].expression", "FieldValueInvalid spec.validations[1].messageExpression",
			"FieldValueInvalid spec.validations[1].message", "FieldValueInvalid spec.validations[2].message", "FieldValueNotSupported spec.validations[2].reason"}},
		{name: "audit annotations", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) {
			p.Spec.AuditAnnotations = append(p.Spec.AuditAnnotations,
				admissionv1.AuditAnnotation{Key: "high-replicas", ValueExpression: " "},
				admissionv1.AuditAnnotation{Key: "bad key", ValueExpression: strings.Repeat("x", 5*1024+1)})
		}, want: []string{"FieldValueRequired spec.auditAnnotations[1].valueExpression", "FieldValueDuplicate spec.auditAnnotations[1].key",
			"FieldValueInvalid spec.auditAnnotations[2].key", "FieldValueRequired spec.auditAnnotations[2].valueExpression"}},
		{name: "match conditions", mutate: func(p *admissionv1.ValidatingAdmissionPolicy) { p.Spec.MatchConditions[0].Expression = "" },
			want: []string{"FieldValueRequired spec.matchConditions[0].expression"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validVAP()
			tc.mutate(p)
			checkErrs(t, ValidatingAdmissionPolicy(p), tc.want)
		})
	}
}

func TestValidatingAdmissionPolicyUpdate(t *testing.T) {
	old := validVAP()
	old.Spec.MatchConditions[0].Name = "a b"
	p := old.DeepCopy()
	p.Spec.FailurePolicy = ptr(admissionv1.Ignore)
	checkErrs(t, ValidatingAdmissionPolicyUpdate(p, old), nil)
	p.Spec.ParamKind = nil
	checkErrs(t, ValidatingAdmissionPolicyUpdate(p, old), []string{"FieldValueInvalid spec.matchConditions[0].name"})

	st := validVAP()
	st.Status.TypeChecking = &admissionv1.TypeChecking{ExpressionWarnings: []admissionv1.ExpressionWarning{
		{FieldRef: "spec.validations[0].expression", Warning: "no such field"},
		{FieldRef: "spec.validations[", Warning: ""},
	}}
	st.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "Maybe", Reason: "Checked", LastTransitionTime: metav1.Now()}}
	checkErrs(t, ValidatingAdmissionPolicyStatusUpdate(st, validVAP()), []string{"FieldValueRequired status.typeChecking.expressionWarnings[1].warning",
		"FieldValueInvalid status.typeChecking.expressionWarnings[1].fieldRef", "FieldValueNotSupported status.conditions[0].status"})
}

func TestValidatingAdmissionPolicyBinding(t *testing.T) {
	valid := func() *admissionv1.ValidatingAdmissionPolicyBinding {
		return &admissionv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "replica-limit-prod", ResourceVersion: "1"},
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName:        "replica-limit",
				ParamRef:          &admissionv1.ParamRef{Name: "prod", Namespace: "policy", ParameterNotFoundAction: ptr(admissionv1.DenyAction)},
				MatchResources:    &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{}, ObjectSelector: &metav1.LabelSelector{}, MatchPolicy: ptr(admissionv1.Equivalent)},
				ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny, admissionv1.Audit},
			},
		}
	}
	tests := []struct {
		name   string
		mutate func(b *admissionv1.ValidatingAdmissionPolicyBinding)
		want   []string
	}{
		{name: "valid", mutate: func(*admissionv1.ValidatingAdmissionPolicyBinding) {}},
		{name: "no param ref or match resources", mutate: func(b *admissionv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ParamRef, b.Spec.MatchResources = nil, nil
		}},
		{name: "policy name", mutate: func(b *admissionv1.ValidatingAdmissionPolicyBinding) { b.Spec.PolicyName = "" },
			want: []string{"FieldValueRequired spec.policyName"}},
		{name: "param ref name and selector", mutate: func(b *admissionv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ParamRef.Selector = &metav1.LabelSelector{}
			b.Spec.ParamRef.ParameterNotFoundAction = ptr(admissionv1.ParameterNotFoundActionType("Skip"))
		}, want: []string{"FieldValueForbidden spec.paramRef.name", "FieldValueForbidden spec.paramRef.selector", "FieldValueNotSupported spec.paramRef.parameterNotFoundAction"}},
		{name: "param ref empty", mutate: func(b *admissionv1.ValidatingAdmissionPolicyBinding) { b.Spec.ParamRef = &admissionv1.ParamRef{} },
			want: []string{"FieldValueRequired spec.paramRef", "FieldValueRequired spec.paramRef.parameterNotFoundAction"}},
		{name: "actions", mutate: func(b *admissionv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = []admissionv1.ValidationAction{"Deny", "Warn", "Warn", "Log"}
		}, want: []string{"FieldValueDuplicate spec.validationActions[2]", "FieldValueNotSupported spec.validationActions[3]", "FieldValueInvalid spec.validationActions"}},
		{name: "actions required", mutate: func(b *admissionv1.ValidatingAdmissionPolicyBinding) { b.Spec.ValidationActions = nil },
			want: []string{"FieldValueRequired spec.validationActions"}},
		{name: "match resources", mutate: func(b *admissionv1.ValidatingAdmissionPolicyBinding) { b.Spec.MatchResources.ObjectSelector = nil },
			want: []string{"FieldValueRequired spec.matchResources.objectSelector"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			tc.mutate(b)
			checkErrs(t, ValidatingAdmissionPolicyBinding(b), tc.want)
		})
	}
	old := valid()
	old.Name = "x.static.k8s.io"
	b := old.DeepCopy()
	b.Spec.PolicyName = "other"
	checkErrs(t, ValidatingAdmissionPolicyBindingUpdate(b, old), nil)
	b.Spec.PolicyName = "Other"
	checkErrs(t, ValidatingAdmissionPolicyBindingUpdate(b, old), []string{"FieldValueInvalid spec.policyName"})
}
