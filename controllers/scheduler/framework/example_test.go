package framework_test

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// gpuOnly is a plugin in the shape of kubelite's: a name, a Filter that
// answers with a Status, and nothing else.
type gpuOnly struct{}

var _ framework.FilterPlugin = gpuOnly{}

func (gpuOnly) Name() string { return "GPUOnly" }

func (gpuOnly) Filter(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	if node.Allocatable.Scalar["example.com/gpu"] == 0 {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) had no GPU")
	}
	return nil
}

// A filter plugin sees a node with its pods' totals and says Success (nil)
// or why the pod does not fit; each reason is counted over the nodes in
// the FailedScheduling message.
func Example_filter() {
	nodes := []*framework.NodeInfo{
		ft.NodeInfo(ft.MakeNode("plain").Capacity("cpu", "4").Obj()),
		ft.NodeInfo(ft.MakeNode("gpu").Capacity("cpu", "4", "example.com/gpu", "1").Obj()),
	}
	state := framework.NewCycleState(framework.NewSnapshot(nodes...))
	pod := ft.MakePod("p").Obj()
	for _, n := range nodes {
		st := gpuOnly{}.Filter(context.Background(), state, pod, n)
		fmt.Printf("%s: %v %q\n", n.Node().Name, st.Code(), st.Message())
	}
	// Output:
	// plain: UnschedulableAndUnresolvable "node(s) had no GPU"
	// gpu: Success ""
}

// NormalizeScores scales raw scores so the best node gets MaxNodeScore,
// or, reversed, so the node with the most of something gets 0.
func ExampleNormalizeScores() {
	scores := []framework.NodeScore{{Name: "a", Score: 1}, {Name: "b", Score: 4}, {Name: "c", Score: 0}}
	framework.NormalizeScores(scores, true)
	fmt.Println(scores)
	// Output: [{a 75} {b 0} {c 100}]
}
