package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
)

func TestFlowSchema(t *testing.T) {
	runCases(t, FlowSchema, []defaultCase[flowcontrolv1.FlowSchema]{{
		name: "matchingPrecedence 1000",
		in:   flowcontrolv1.FlowSchema{},
		want: flowcontrolv1.FlowSchema{Spec: flowcontrolv1.FlowSchemaSpec{MatchingPrecedence: 1000}},
	}, {
		name: "matchingPrecedence kept",
		in:   flowcontrolv1.FlowSchema{Spec: flowcontrolv1.FlowSchemaSpec{MatchingPrecedence: 7}},
		want: flowcontrolv1.FlowSchema{Spec: flowcontrolv1.FlowSchemaSpec{MatchingPrecedence: 7}},
	}})
}

func TestPriorityLevelConfiguration(t *testing.T) {
	limited := func(l flowcontrolv1.LimitedPriorityLevelConfiguration) flowcontrolv1.PriorityLevelConfiguration {
		return flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited, Limited: &l}}
	}
	runCases(t, PriorityLevelConfiguration, []defaultCase[flowcontrolv1.PriorityLevelConfiguration]{{
		name: "exempt shares and lendable percent 0",
		in:   flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt, Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{}}},
		want: flowcontrolv1.PriorityLevelConfiguration{Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt, Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{
			NominalConcurrencyShares: new(int32(0)), LendablePercent: new(int32(0)),
		}}},
	}, {
		name: "limited shares 30 and queuing 64/8/50",
		in:   limited(flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{}}}),
		want: limited(flowcontrolv1.LimitedPriorityLevelConfiguration{
			NominalConcurrencyShares: new(int32(30)), LendablePercent: new(int32(0)),
			LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50}},
		}),
	}, {
		name: "explicit zero shares kept",
		in:   limited(flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: new(int32(0)), LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}}),
		want: limited(flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: new(int32(0)), LendablePercent: new(int32(0)), LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}}),
	}})
}

// TestAPFBootstrapObjectsAreDefaulted checks what upstream promises of its
// bootstrap configuration: defaulting changes none of it, so the objects the
// server creates compare equal to what it reads back.
func TestAPFBootstrapObjectsAreDefaulted(t *testing.T) {
	for _, fs := range append(bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas...) {
		got := fs.DeepCopy()
		FlowSchema(got)
		if got.Spec.MatchingPrecedence != fs.Spec.MatchingPrecedence {
			t.Errorf("flow schema %s: defaulting changed it", fs.Name)
		}
	}
	for _, pl := range append(bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations...) {
		got := pl.DeepCopy()
		PriorityLevelConfiguration(got)
		if diff := cmp.Diff(pl.Spec, got.Spec); diff != "" {
			t.Errorf("priority level %s: defaulting changed it:\n%s", pl.Name, diff)
		}
	}
}
