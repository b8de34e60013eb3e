package validation

import (
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
)

func validFlowSchema() *flowcontrolv1.FlowSchema {
	return &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-fs"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			MatchingPrecedence:         10000,
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "global-default"},
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects:         []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: "someone"}}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
			}},
		},
	}
}

func TestFlowSchema(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(fs *flowcontrolv1.FlowSchema)
		want   []string
	}{
		{"valid", func(fs *flowcontrolv1.FlowSchema) {}, nil},
		{"precedence out of range", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 10001 },
			[]string{"FieldValueInvalid spec.matchingPrecedence"}},
		{"precedence 1 reserved for exempt", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 1 },
			[]string{"FieldValueInvalid spec.matchingPrecedence"}},
		{"unknown distinguisher", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.DistinguisherMethod.Type = "ByColour" },
			[]string{"FieldValueNotSupported spec.distinguisherMethod.type"}},
		{"no priority level", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "" },
			[]string{"FieldValueRequired spec.priorityLevelConfiguration.name"}},
		{"subject members", func(fs *flowcontrolv1.FlowSchema) {
			fs.Spec.Rules[0].Subjects = []flowcontrolv1.Subject{
				{Kind: flowcontrolv1.SubjectKindGroup, User: &flowcontrolv1.UserSubject{Name: "x"}},
				{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "*"}},
				{Kind: "Robot"},
			}
		}, []string{
			"FieldValueRequired spec.rules[0].subjects[0].group", "FieldValueForbidden spec.rules[0].subjects[0].user",
			"FieldValueRequired spec.rules[0].subjects[1].serviceAccount.namespace",
			"FieldValueNotSupported spec.rules[0].subjects[2].kind",
		}},
		{"rules", func(fs *flowcontrolv1.FlowSchema) {
			fs.Spec.Rules = append(fs.Spec.Rules, flowcontrolv1.PolicyRulesWithSubjects{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "g"}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{
					Verbs: []string{"get", "fly"}, APIGroups: []string{"*", "apps"}, Resources: []string{"pods"}, Namespaces: []string{"Bad_NS"},
				}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"healthz", "/a/*/b"}}},
			})
		}, []string{
			"FieldValueNotSupported spec.rules[1].resourceRules[0].verbs", "FieldValueInvalid spec.rules[1].resourceRules[0].apiGroups",
			"FieldValueInvalid spec.rules[1].resourceRules[0].namespaces[0]",
			"FieldValueInvalid spec.rules[1].nonResourceRules[0].nonResourceURLs[0]", "FieldValueInvalid spec.rules[1].nonResourceRules[0].nonResourceURLs[1]",
		}},
		{"rule without anything", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.Rules[0] = flowcontrolv1.PolicyRulesWithSubjects{} },
			[]string{"FieldValueRequired spec.rules[0].subjects", "FieldValueRequired spec.rules[0]"}},
		{"duplicate condition", func(fs *flowcontrolv1.FlowSchema) {
			fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "A"}, {Type: "A"}}
		}, []string{"FieldValueDuplicate status.conditions[1].type"}},
		{"mandatory catch-all changed", func(fs *flowcontrolv1.FlowSchema) {
			*fs = *bootstrap.MandatoryFlowSchemaCatchAll.DeepCopy()
			fs.Spec.MatchingPrecedence = 9999
		}, []string{"FieldValueInvalid spec"}},
		{"mandatory exempt as shipped", func(fs *flowcontrolv1.FlowSchema) { *fs = *bootstrap.MandatoryFlowSchemaExempt.DeepCopy() }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := validFlowSchema()
			tt.mutate(fs)
			checkErrs(t, FlowSchema(fs), tt.want)
		})
	}
}

func queuedLevel(q flowcontrolv1.QueuingConfiguration) *flowcontrolv1.PriorityLevelConfiguration {
	return &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-pl"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				NominalConcurrencyShares: ptr(int32(30)), LendablePercent: ptr(int32(0)),
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &q},
			},
		},
	}
}

func TestPriorityLevelConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		pl     *flowcontrolv1.PriorityLevelConfiguration
		mutate func(pl *flowcontrolv1.PriorityLevelConfiguration)
		want   []string
	}{
		{"valid", queuedLevel(flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50}), nil, nil},
		{"queuing limits", queuedLevel(flowcontrolv1.QueuingConfiguration{Queues: 4, HandSize: 5}), nil,
			[]string{"FieldValueInvalid spec.limited.limitResponse.queuing.queueLengthLimit", "FieldValueInvalid spec.limited.limitResponse.queuing.handSize"}},
		{"hand too large for the hash", queuedLevel(flowcontrolv1.QueuingConfiguration{Queues: 10000000, HandSize: 10000, QueueLengthLimit: 1}), nil,
			[]string{"FieldValueInvalid spec.limited.limitResponse.queuing.handSize"}},
		{"percentages and shares", queuedLevel(flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50}),
			func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.NominalConcurrencyShares = ptr(int32(-1))
				pl.Spec.Limited.LendablePercent = ptr(int32(101))
				pl.Spec.Limited.BorrowingLimitPercent = ptr(int32(-1))
			}, []string{"FieldValueInvalid spec.limited.nominalConcurrencyShares", "FieldValueInvalid spec.limited.lendablePercent", "FieldValueInvalid spec.limited.borrowingLimitPercent"}},
		{"reject with queuing", queuedLevel(flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50}),
			func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.LimitResponse.Type = flowcontrolv1.LimitResponseTypeReject
			},
			[]string{"FieldValueForbidden spec.limited.limitResponse.queuing"}},
		{"exempt type needs the exempt name", queuedLevel(flowcontrolv1.QueuingConfiguration{}),
			func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec = flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt}
			}, []string{"FieldValueInvalid spec.type"}},
		{"no type", queuedLevel(flowcontrolv1.QueuingConfiguration{}),
			func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec = flowcontrolv1.PriorityLevelConfigurationSpec{}
			},
			[]string{"FieldValueRequired spec.type"}},
		{"v1beta3 annotation", queuedLevel(flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50}),
			func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Annotations = map[string]string{"flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares": ""}
			}, []string{"FieldValueForbidden metadata.annotations"}},
		{"mandatory exempt may change its exempt settings", bootstrap.MandatoryPriorityLevelConfigurationExempt.DeepCopy(),
			func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Exempt.NominalConcurrencyShares = ptr(int32(10))
			}, nil},
		{"mandatory catch-all is fixed", bootstrap.MandatoryPriorityLevelConfigurationCatchAll.DeepCopy(),
			func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.NominalConcurrencyShares = ptr(int32(10))
			},
			[]string{"FieldValueInvalid spec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mutate != nil {
				tt.mutate(tt.pl)
			}
			checkErrs(t, PriorityLevelConfiguration(tt.pl), tt.want)
		})
	}
}
