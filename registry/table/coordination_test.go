package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestLeases(t *testing.T) {
	testColumns(t, []columnCase{
		{"leases", Leases(), []col{str("Name"), str("Holder"), str("Age")}},
	})
	tests := []struct {
		name   string
		holder *string
		want   []interface{}
	}{
		{"held", ptr.To("node-1_7f3a"), []interface{}{"kube-scheduler", "node-1_7f3a", "10m"}},
		{"free", nil, []interface{}{"kube-scheduler", "", "10m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "kube-scheduler", CreationTimestamp: ago(10 * time.Minute)},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: tt.holder}}
			row := rowOf(t, Leases(), l)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
