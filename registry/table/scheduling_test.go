package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestSchedulingColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"priorityclasses", PriorityClasses(), []col{str("Name"), integer("Value"), boolean("Global-Default"), str("Age"), str("PreemptionPolicy")}},
	})
}

func TestPriorityClassCells(t *testing.T) {
	tests := []struct {
		name string
		pc   schedulingv1.PriorityClass
		want []interface{}
	}{{
		name: "global default with policy",
		pc: schedulingv1.PriorityClass{Value: 1000000, GlobalDefault: true,
			PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority)},
		want: []interface{}{"high", int64(1000000), true, "7d", "PreemptLowerPriority"},
	}, {
		name: "negative value without policy",
		pc:   schedulingv1.PriorityClass{Value: -5},
		want: []interface{}{"high", int64(-5), false, "7d", ""},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.pc.ObjectMeta = metav1.ObjectMeta{Name: "high", CreationTimestamp: ago(7 * 24 * time.Hour)}
			row := rowOf(t, PriorityClasses(), &tt.pc)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
