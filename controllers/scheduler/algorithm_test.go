package scheduler

import (
	"errors"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

func newTestAlgorithm(nominated func(string) []*framework.PodInfo) *algorithm {
	return &algorithm{profile: newProfile(defaultPlugins(listers{})), parallelism: 2,
		rand: rand.New(rand.NewPCG(1, 2)), nominated: nominated}
}

func snapshotOf(nodes []*corev1.Node, pods ...*corev1.Pod) *framework.Snapshot {
	c := newNodeCache()
	for _, n := range nodes {
		c.setNode(n)
	}
	for _, p := range pods {
		c.setPod(p)
	}
	return c.snapshot()
}

// TestFitErrorMessage: upstream's "0/N nodes are available: " with each
// reason counted over the nodes and sorted, then the PreFilter's reason
// instead when a PreFilter rejected the pod, then preemption's part.
func TestFitErrorMessage(t *testing.T) {
	nodes := []*corev1.Node{
		ft.MakeNode("small").Capacity("cpu", "1", "memory", "1Gi").Obj(),
		ft.MakeNode("full").Capacity("cpu", "4", "memory", "1Gi").Obj(),
		ft.MakeNode("tainted").Capacity("cpu", "8").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj(),
		ft.MakeNode("cordoned").Capacity("cpu", "8").Unschedulable().Obj(),
	}
	snap := snapshotOf(nodes, onNode(ft.MakePod("hog").Req("cpu", "3", "memory", "1Gi").Obj(), "full"))
	_, _, err := newTestAlgorithm(nil).schedule(t.Context(), snap, ft.MakePod("p").Req("cpu", "2", "memory", "512Mi").Obj())
	var fit *fitError
	if !errors.As(err, &fit) {
		t.Fatalf("err = %v", err)
	}
	want := "0/4 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable, 2 Insufficient cpu."
	if got := fit.Error(); got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
	fit.postFilterMsg = "preemption: not eligible due to preemptionPolicy=Never."
	if got := fit.Error(); got != want+" preemption: not eligible due to preemptionPolicy=Never." {
		t.Errorf("with preemption: %q", got)
	}
	pre := &fitError{numAllNodes: 3, preFilter: framework.NewStatus(framework.UnschedulableAndUnresolvable, "pod has unbound immediate PersistentVolumeClaims")}
	if got := pre.Error(); got != "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims." {
		t.Errorf("prefilter message: %q", got)
	}
	if _, _, err := newTestAlgorithm(nil).schedule(t.Context(), snapshotOf(nil), ft.MakePod("p").Obj()); !errors.Is(err, errNoNodes) {
		t.Errorf("no nodes: %v", err)
	}
}

// TestScheduleScores: with everything feasible, the weighted scores
// decide: preferred node affinity (weight 2) beats least allocated.
func TestScheduleScores(t *testing.T) {
	nodes := []*corev1.Node{
		ft.MakeNode("busy").Capacity("cpu", "4", "memory", "8Gi").Label("disk", "ssd").Obj(),
		ft.MakeNode("idle").Capacity("cpu", "4", "memory", "8Gi").Obj(),
	}
	snap := snapshotOf(nodes, onNode(ft.MakePod("e").Req("cpu", "1", "memory", "2Gi").Obj(), "busy"))
	a := newTestAlgorithm(nil)
	plain := ft.MakePod("plain").Req("cpu", "1", "memory", "1Gi").Obj()
	if got, _, err := a.schedule(t.Context(), snap, plain); err != nil || got != "idle" {
		t.Errorf("plain pod -> %q, %v; want idle", got, err)
	}
	ssd := ft.MakePod("ssd").Req("cpu", "1", "memory", "1Gi").Affinity(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 1, Preference: corev1.NodeSelectorTerm{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}},
	}}).Obj()
	if got, _, err := a.schedule(t.Context(), snap, ssd); err != nil || got != "busy" {
		t.Errorf("ssd pod -> %q, %v; want busy", got, err)
	}
}

// TestNominatedRoom: the room preemption made for a nominated pod is not
// given to a pod of lower priority, but is to one of equal or higher.
func TestNominatedRoom(t *testing.T) {
	nodes := []*corev1.Node{ft.MakeNode("n").Capacity("cpu", "2").Obj()}
	nominated := framework.NewPodInfo(ft.MakePod("nominee").Req("cpu", "2").Priority(100).Obj())
	a := newTestAlgorithm(func(node string) []*framework.PodInfo {
		if node == "n" {
			return []*framework.PodInfo{nominated}
		}
		return nil
	})
	snap := snapshotOf(nodes)
	if _, _, err := a.schedule(t.Context(), snap, ft.MakePod("low").Req("cpu", "1").Priority(1).Obj()); err == nil {
		t.Error("a lower-priority pod took the nominated room")
	}
	if got, _, err := a.schedule(t.Context(), snap, ft.MakePod("nominee").Req("cpu", "2").Priority(100).Obj()); err != nil || got != "n" {
		t.Errorf("the nominee itself -> %q, %v", got, err)
	}
}

// TestNumFeasibleToFind: upstream's adaptive search size.
func TestNumFeasibleToFind(t *testing.T) {
	a := &algorithm{}
	for n, want := range map[int]int{10: 10, 99: 99, 100: 100, 1000: 420, 5000: 500, 10000: 500, 100000: 5000} {
		if got := a.numFeasibleToFind(n); got != want {
			t.Errorf("numFeasibleToFind(%d) = %d, want %d", n, got, want)
		}
	}
	a.percentage = 100
	if got := a.numFeasibleToFind(5000); got != 5000 {
		t.Errorf("at 100%%: %d", got)
	}
}

// TestNamedNodes: a pod whose required affinity names its node by
// metadata.name (as DaemonSet pods do) is filtered on that node only, and
// upstream counts the others as not satisfying NodeAffinity.
func TestNamedNodes(t *testing.T) {
	byName := func(names ...string) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: names}}}}}}}
	}
	nodes := []*corev1.Node{
		ft.MakeNode("a").Capacity("cpu", "1").Obj(), ft.MakeNode("b").Capacity("cpu", "4").Obj(), ft.MakeNode("c").Capacity("cpu", "4").Obj(),
	}
	snap := snapshotOf(nodes)
	a := newTestAlgorithm(nil)
	if got, _, err := a.schedule(t.Context(), snap, ft.MakePod("p").Req("cpu", "500m").Affinity(byName("a")).Obj()); err != nil || got != "a" {
		t.Errorf("fits -> %q, %v", got, err)
	}
	_, _, err := a.schedule(t.Context(), snap, ft.MakePod("p").Req("cpu", "2").Affinity(byName("a")).Obj())
	want := "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	_, _, err = a.schedule(t.Context(), snap, ft.MakePod("p").Affinity(byName("gone")).Obj())
	want = "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [NodeAffinity]."
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
