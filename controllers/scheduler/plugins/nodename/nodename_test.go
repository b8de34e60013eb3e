package nodename

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// TestFilter: upstream's NodeName accepts any node when spec.nodeName is
// empty and otherwise only the named one, unresolvably.
func TestFilter(t *testing.T) {
	tests := []struct {
		name, nodeName string
		want           *framework.Status
	}{
		{name: "no node name fits any node"},
		{name: "named node fits", nodeName: "n1"},
		{name: "other node does not fit", nodeName: "n2", want: framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := ft.MakePod("p").NodeName(tt.nodeName).Obj()
			got := New().Filter(t.Context(), nil, pod, ft.NodeInfo(ft.MakeNode("n1").Obj()))
			if diff := cmp.Diff(tt.want.Code(), got.Code()); diff != "" {
				t.Errorf("code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want.Reasons(), got.Reasons()); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}
