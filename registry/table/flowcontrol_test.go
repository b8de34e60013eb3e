package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

func TestFlowControlColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"flowschemas", FlowSchemas(), []col{str("Name"), str("PriorityLevel"), str("MatchingPrecedence"), str("DistinguisherMethod"), str("Age"), str("MissingPL")}},
		{"prioritylevelconfigurations", PriorityLevelConfigurations(), []col{str("Name"), str("Type"), str("NominalConcurrencyShares"), str("Queues"), str("HandSize"), str("QueueLengthLimit"), str("Age")}},
	})
}

func TestFlowControlCells(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "fc", CreationTimestamp: ago(3 * time.Hour)}
	shares := int32(30)
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{{
		name: "flow schema with a dangling level",
		tc:   FlowSchemas(),
		obj: &flowcontrolv1.FlowSchema{ObjectMeta: meta, Spec: flowcontrolv1.FlowSchemaSpec{
			MatchingPrecedence: 500, PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "workload-low"},
			DistinguisherMethod: &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByNamespaceType},
		}, Status: flowcontrolv1.FlowSchemaStatus{Conditions: []flowcontrolv1.FlowSchemaCondition{{Type: flowcontrolv1.FlowSchemaConditionDangling, Status: flowcontrolv1.ConditionTrue}}}},
		want: []interface{}{"fc", "workload-low", int64(500), "ByNamespace", "3h", "True"},
	}, {
		name: "flow schema without distinguisher or status",
		tc:   FlowSchemas(),
		obj: &flowcontrolv1.FlowSchema{ObjectMeta: meta, Spec: flowcontrolv1.FlowSchemaSpec{
			MatchingPrecedence: 1, PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "exempt"},
		}},
		want: []interface{}{"fc", "exempt", int64(1), "<none>", "3h", "?"},
	}, {
		name: "queued level",
		tc:   PriorityLevelConfigurations(),
		obj: &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: meta, Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: &shares, LimitResponse: flowcontrolv1.LimitResponse{
				Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 6, QueueLengthLimit: 50},
			}},
		}},
		want: []interface{}{"fc", "Limited", int32(30), int32(64), int32(6), int32(50), "3h"},
	}, {
		name: "exempt level",
		tc:   PriorityLevelConfigurations(),
		obj: &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: meta, Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementExempt, Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{},
		}},
		want: []interface{}{"fc", "Exempt", "<none>", "<none>", "<none>", "<none>", "3h"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, tt.tc, tt.obj)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
