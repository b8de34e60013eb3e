package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

func onNode(p *corev1.Pod, node string) *corev1.Pod {
	p = p.DeepCopy()
	p.Spec.NodeName = node
	return p
}

// TestCacheAssume: an assumed pod counts on its node in the next
// snapshot, is confirmed by the informer's add, and a forgotten one frees
// the room; snapshots copy only changed nodes, so an older snapshot's
// node stays as it was.
func TestCacheAssume(t *testing.T) {
	c := newNodeCache()
	c.setNode(ft.MakeNode("n1").Capacity("cpu", "2").Obj())
	c.setNode(ft.MakeNode("n2").Capacity("cpu", "2").Obj())
	snap := c.snapshot()
	if got := len(snap.Nodes); got != 2 {
		t.Fatalf("nodes = %d", got)
	}
	n2Before := snap.ByName["n2"]
	n1Before := snap.ByName["n1"]

	pod := onNode(ft.MakePod("p").Req("cpu", "1").Obj(), "n1")
	c.assume(pod)
	if !c.isAssumed(pod.UID) {
		t.Fatal("not assumed")
	}
	snap = c.snapshot()
	if got := snap.ByName["n1"].Requested.MilliCPU; got != 1000 {
		t.Errorf("n1 requested = %d, want 1000", got)
	}
	if n1Before.Requested.MilliCPU != 0 || len(n1Before.Pods) != 0 {
		t.Error("the earlier snapshot's node changed")
	}
	if snap.ByName["n2"] != n2Before {
		t.Error("unchanged n2 was copied again")
	}

	c.setPod(pod) // the informer sees the binding
	if c.isAssumed(pod.UID) {
		t.Error("still assumed after the informer's add")
	}
	c.forget(pod) // no effect on a bound pod
	if got := c.snapshot().ByName["n1"].Requested.MilliCPU; got != 1000 {
		t.Errorf("forget removed a bound pod: requested %d", got)
	}

	other := onNode(ft.MakePod("q").Req("cpu", "1").Obj(), "n2")
	c.assume(other)
	c.forget(other)
	if got := c.snapshot().ByName["n2"].Requested.MilliCPU; got != 0 {
		t.Errorf("n2 requested after forget = %d", got)
	}
	c.removePod(pod)
	if got := len(c.snapshot().ByName["n1"].Pods); got != 0 {
		t.Errorf("n1 pods after delete = %d", got)
	}
}

// TestCacheNodes: node removal drops it from snapshots (pods seen before
// their node wait for it), and image counts follow the nodes.
func TestCacheNodes(t *testing.T) {
	c := newNodeCache()
	c.setPod(onNode(ft.MakePod("early").Obj(), "n3"))
	c.setNode(ft.MakeNode("n1").Image(100, "app:1").Obj())
	c.setNode(ft.MakeNode("n2").Image(100, "app:1", "app:latest").Obj())
	snap := c.snapshot()
	var names []string
	for _, n := range snap.Nodes {
		names = append(names, n.Node().Name)
	}
	if diff := cmp.Diff([]string{"n1", "n2"}, names); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"app:1": 2, "app:latest": 1}, snap.ImageNodes); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	c.setNode(ft.MakeNode("n3").Obj())
	if got := len(c.snapshot().ByName["n3"].Pods); got != 1 {
		t.Errorf("n3 pods = %d, want the early one", got)
	}
	c.removeNode(ft.MakeNode("n1").Obj())
	snap = c.snapshot()
	if _, ok := snap.ByName["n1"]; ok || len(snap.Nodes) != 2 {
		t.Errorf("n1 still in the snapshot: %d nodes", len(snap.Nodes))
	}
	if got := snap.ImageNodes["app:1"]; got != 1 {
		t.Errorf("app:1 on %d nodes, want 1", got)
	}
}
