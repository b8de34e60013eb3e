package noderesources

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// TestFilter encodes upstream's fit rules: every shortfall is a reason,
// the pod count counts, init containers take the max of each init
// container plus the sidecars started before it and the app containers
// plus all sidecars, overhead is added, and asking for more than
// allocatable is unresolvable.
func TestFilter(t *testing.T) {
	node := func() *corev1.Node {
		return ft.MakeNode("n").Capacity("cpu", "4", "memory", "8Gi", "ephemeral-storage", "10Gi", "example.com/gpu", "2").Obj()
	}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		node     *corev1.Node
		existing []*corev1.Pod
		want     framework.Code
		reasons  []string
	}{
		{name: "fits", pod: ft.MakePod("p").Req("cpu", "1", "memory", "1Gi").Obj(), node: node(), want: framework.Success},
		{name: "no requests fits a full node", pod: ft.MakePod("p").Obj(), node: node(),
			existing: []*corev1.Pod{ft.MakePod("e").Req("cpu", "4", "memory", "8Gi").Obj()}, want: framework.Success},
		{name: "cpu used up", pod: ft.MakePod("p").Req("cpu", "1").Obj(), node: node(),
			existing: []*corev1.Pod{ft.MakePod("e").Req("cpu", "3500m").Obj()}, want: framework.Unschedulable, reasons: []string{"Insufficient cpu"}},
		{name: "cpu and memory used up", pod: ft.MakePod("p").Req("cpu", "1", "memory", "1Gi").Obj(), node: node(),
			existing: []*corev1.Pod{ft.MakePod("e").Req("cpu", "3500m", "memory", "7.5Gi").Obj()}, want: framework.Unschedulable,
			reasons: []string{"Insufficient cpu", "Insufficient memory"}},
		{name: "more cpu than the node has", pod: ft.MakePod("p").Req("cpu", "5").Obj(), node: node(),
			want: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu"}},
		{name: "ephemeral storage", pod: ft.MakePod("p").Req("ephemeral-storage", "11Gi").Obj(), node: node(),
			want: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient ephemeral-storage"}},
		{name: "extended resource", pod: ft.MakePod("p").Req("example.com/gpu", "1").Obj(), node: node(),
			existing: []*corev1.Pod{ft.MakePod("e").Req("example.com/gpu", "2").Obj()}, want: framework.Unschedulable,
			reasons: []string{"Insufficient example.com/gpu"}},
		{name: "extended resource the node lacks", pod: ft.MakePod("p").Req("example.com/fpga", "1").Obj(), node: node(),
			want: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient example.com/fpga"}},
		{name: "too many pods", pod: ft.MakePod("p").Obj(), node: ft.MakeNode("n").Capacity("pods", "1").Obj(),
			existing: []*corev1.Pod{ft.MakePod("e").Obj()}, want: framework.Unschedulable, reasons: []string{ReasonTooManyPods}},
		{name: "big init container counts alone", pod: ft.MakePod("p").Req("cpu", "1").Init(false, "cpu", "5").Obj(), node: node(),
			want: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu"}},
		{name: "init containers take the max, not the sum", pod: ft.MakePod("p").Req("cpu", "1").Init(false, "cpu", "3").Init(false, "cpu", "3").Obj(),
			node: node(), want: framework.Success},
		{name: "sidecar adds to the app containers", pod: ft.MakePod("p").Req("cpu", "3").Init(true, "cpu", "1500m").Obj(), node: node(),
			want: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu"}},
		{name: "sidecar started before an init container adds to it", pod: ft.MakePod("p").Req("cpu", "100m").Init(true, "cpu", "1").Init(false, "cpu", "3500m").Obj(),
			node: node(), want: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu"}},
		{name: "overhead counts", pod: ft.MakePod("p").Req("cpu", "3").Overhead("cpu", "1500m").Obj(), node: node(),
			want: framework.UnschedulableAndUnresolvable, reasons: []string{"Insufficient cpu"}},
		{name: "existing pods' overhead counts", pod: ft.MakePod("p").Req("cpu", "1").Obj(), node: node(),
			existing: []*corev1.Pod{ft.MakePod("e").Req("cpu", "2").Overhead("cpu", "1500m").Obj()}, want: framework.Unschedulable,
			reasons: []string{"Insufficient cpu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewFit()
			state := framework.NewCycleState(nil)
			p.PreFilter(t.Context(), state, tt.pod)
			got := p.Filter(t.Context(), state, tt.pod, ft.NodeInfo(tt.node, tt.existing...))
			if got.Code() != tt.want {
				t.Errorf("code = %v, want %v (%s)", got.Code(), tt.want, got.Message())
			}
			if diff := cmp.Diff(tt.reasons, got.Reasons()); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLeastAllocated: upstream's (allocatable - requested) * 100 /
// allocatable per resource, averaged, with 100m cpu and 200Mi memory
// standing in for missing requests, and 0 for an over-committed resource.
func TestLeastAllocated(t *testing.T) {
	tests := []struct {
		name     string
		pod      *corev1.Pod
		node     *corev1.Node
		existing []*corev1.Pod
		want     int64
	}{
		{name: "empty node", pod: ft.MakePod("p").Req("cpu", "3", "memory", "5000").Obj(),
			node: ft.MakeNode("n").Capacity("cpu", "4", "memory", "10000").Obj(), want: 37},
		{name: "with an existing pod", pod: ft.MakePod("p").Req("cpu", "1", "memory", "2000").Obj(),
			node:     ft.MakeNode("n").Capacity("cpu", "4", "memory", "10000").Obj(),
			existing: []*corev1.Pod{ft.MakePod("e").Req("cpu", "1", "memory", "3000").Obj()}, want: 50},
		{name: "no requests count as defaults", pod: ft.MakePod("p").Obj(),
			node: ft.MakeNode("n").Capacity("cpu", "1", "memory", "400Mi").Obj(), want: 70},
		{name: "over-committed cpu scores 0 for cpu", pod: ft.MakePod("p").Req("cpu", "5", "memory", "5000").Obj(),
			node: ft.MakeNode("n").Capacity("cpu", "4", "memory", "10000").Obj(), want: 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewFit()
			state := framework.NewCycleState(nil)
			p.PreScore(t.Context(), state, tt.pod, nil)
			got, st := p.Score(t.Context(), state, tt.pod, ft.NodeInfo(tt.node, tt.existing...))
			if !st.IsSuccess() {
				t.Fatal(st.AsError())
			}
			if got != tt.want {
				t.Errorf("score = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestBalanced: upstream's 50 + (50 + with - without)/2, where a node's
// balance is (1 - std of the cpu and memory fractions) * 100; best-effort
// pods are skipped.
func TestBalanced(t *testing.T) {
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing []*corev1.Pod
		want     int64
	}{
		// with: .75, .5 -> std .125 -> 87; without: 100.
		{name: "empty node", pod: ft.MakePod("p").Req("cpu", "3", "memory", "5000").Obj(), want: 68},
		// with: .5, .5 -> 100; without: .25, 0 -> 87.
		{name: "pod evens the node out", pod: ft.MakePod("p").Req("cpu", "1", "memory", "5000").Obj(),
			existing: []*corev1.Pod{ft.MakePod("e").Req("cpu", "1").Obj()}, want: 81},
		{name: "perfectly balanced pod on an empty node", pod: ft.MakePod("p").Req("cpu", "2", "memory", "5000").Obj(), want: 75},
	}
	node := ft.MakeNode("n").Capacity("cpu", "4", "memory", "10000").Obj()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewBalanced()
			state := framework.NewCycleState(nil)
			if st := p.PreScore(t.Context(), state, tt.pod, nil); !st.IsSuccess() {
				t.Fatal(st.Code())
			}
			got, _ := p.Score(t.Context(), state, tt.pod, ft.NodeInfo(node, tt.existing...))
			if got != tt.want {
				t.Errorf("score = %d, want %d", got, tt.want)
			}
		})
	}
	if st := NewBalanced().PreScore(t.Context(), framework.NewCycleState(nil), ft.MakePod("be").Obj(), nil); !st.IsSkip() {
		t.Errorf("best-effort PreScore = %v, want Skip", st.Code())
	}
}
