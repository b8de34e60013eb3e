package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestPodDisruptionBudgets(t *testing.T) {
	testColumns(t, []columnCase{
		{"poddisruptionbudgets", PodDisruptionBudgets(), []col{str("Name"), str("Min Available"), str("Max Unavailable"), integer("Allowed Disruptions"), str("Age")}},
	})
	tests := []struct {
		name   string
		spec   policyv1.PodDisruptionBudgetSpec
		status policyv1.PodDisruptionBudgetStatus
		want   []interface{}
	}{{
		name:   "min available",
		spec:   policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(2))},
		status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1},
		want:   []interface{}{"pdb", "2", "N/A", int64(1), "10m"},
	}, {
		name: "max unavailable percentage",
		spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromString("25%"))},
		want: []interface{}{"pdb", "N/A", "25%", int64(0), "10m"},
	}, {
		name: "neither",
		want: []interface{}{"pdb", "N/A", "N/A", int64(0), "10m"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "pdb", CreationTimestamp: ago(10 * time.Minute)}, Spec: tt.spec, Status: tt.status}
			row := rowOf(t, PodDisruptionBudgets(), pdb)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
