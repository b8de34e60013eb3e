package nodelifecycle

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
)

type fixture struct {
	t       *testing.T
	ctx     context.Context
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	clock   *testingclock.FakeClock
	c       *Controller
	events  *record.FakeRecorder
}

func newFixture(t *testing.T) *fixture {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	clock := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	events := record.NewFakeRecorder(100)
	c, err := New(Config{
		Client: client, Nodes: factory.Core().V1().Nodes(), Leases: factory.Coordination().V1().Leases(),
		Pods: factory.Core().V1().Pods(), Events: events, GracePeriod: 40 * time.Second, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, client: client, factory: factory, clock: clock, c: c, events: events}
}

// readyNode stores a Ready node with a Lease renewed now, on the fake
// server and in the cache.
func (f *fixture) readyNode(name string) {
	now := metav1.NewTime(f.clock.Now())
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: now},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now},
		}},
	}
	if _, err := f.client.CoreV1().Nodes().Create(f.ctx, n, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.renew(name)
	f.refresh(name)
}

func (f *fixture) renew(name string) {
	renew := metav1.NewMicroTime(f.clock.Now())
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease}, Spec: coordinationv1.LeaseSpec{RenewTime: &renew}}
	if err := f.factory.Coordination().V1().Leases().Informer().GetIndexer().Update(l); err != nil {
		f.t.Fatal(err)
	}
}

// refresh copies the node from the fake server into the cache.
func (f *fixture) refresh(name string) *corev1.Node {
	n, err := f.client.CoreV1().Nodes().Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.factory.Core().V1().Nodes().Informer().GetIndexer().Update(n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// sync syncs the nodes and returns them as stored afterwards.
func (f *fixture) sync(names ...string) map[string]*corev1.Node {
	out := map[string]*corev1.Node{}
	for _, name := range names {
		if err := f.c.sync(f.ctx, name); err != nil {
			f.t.Fatalf("sync %s: %v", name, err)
		}
		out[name] = f.refresh(name)
	}
	return out
}

func noExecuteTaints(n *corev1.Node) []string {
	var keys []string
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			keys = append(keys, t.Key)
		}
	}
	return keys
}

// TestGraceAndDisruption: a node whose Lease stops is Unknown after the
// grace period and tainted unreachable:NoExecute while another node is
// Ready; once no node is Ready, NoExecute taints are withheld and removed
// (upstream's full disruption), and they come back when one node recovers.
func TestGraceAndDisruption(t *testing.T) {
	f := newFixture(t)
	f.readyNode("a")
	f.readyNode("b")
	f.sync("a", "b")

	f.clock.Step(30 * time.Second)
	f.renew("a")
	f.sync("a", "b")
	f.clock.Step(15 * time.Second) // b: 45 s since its last renewal
	f.renew("a")
	nodes := f.sync("a", "b")
	if got := readyCondition(nodes["b"]).Status; got != corev1.ConditionUnknown {
		t.Fatalf("b after the grace period: Ready %s, want Unknown", got)
	}
	if got := noExecuteTaints(nodes["b"]); len(got) != 1 || got[0] != corev1.TaintNodeUnreachable {
		t.Errorf("b NoExecute taints %v, want unreachable", got)
	}
	if got := readyCondition(nodes["a"]).Status; got != corev1.ConditionTrue || len(nodes["a"].Spec.Taints) != 0 {
		t.Errorf("a renewing its Lease: Ready %s, taints %v", got, nodes["a"].Spec.Taints)
	}
	select {
	case e := <-f.events.Events:
		t.Logf("event: %s", e)
	default:
		t.Error("no NodeNotReady event")
	}

	f.clock.Step(45 * time.Second) // a silent too: no node is Ready
	nodes = f.sync("a", "b")
	nodes = f.sync("a", "b")
	for name, n := range nodes {
		if got := noExecuteTaints(n); len(got) != 0 {
			t.Errorf("full disruption: %s keeps NoExecute taints %v", name, got)
		}
		if !hasTaint(n.Spec.Taints, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) {
			t.Errorf("full disruption: %s lacks unreachable:NoSchedule", name)
		}
	}

	// a comes back: its agent renews and posts Ready; b is tainted again.
	f.renew("a")
	a := nodes["a"].DeepCopy()
	now := metav1.NewTime(f.clock.Now())
	a.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now}}
	if _, err := f.client.CoreV1().Nodes().UpdateStatus(f.ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh("a")
	nodes = f.sync("a", "b")
	if len(nodes["a"].Spec.Taints) != 0 {
		t.Errorf("recovered a keeps taints %v", nodes["a"].Spec.Taints)
	}
	if got := noExecuteTaints(nodes["b"]); len(got) != 1 {
		t.Errorf("b after a recovered: NoExecute taints %v, want unreachable", got)
	}
}

// TestPartialDisruption: in a zone where at least three nodes, 55% or more,
// are not ready, no new NoExecute taint is added.
func TestPartialDisruption(t *testing.T) {
	f := newFixture(t)
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		f.readyNode(n)
	}
	f.sync(names...)
	f.clock.Step(45 * time.Second)
	f.renew("a")
	nodes := f.sync(names...)
	nodes = f.sync(names...)
	for _, name := range []string{"b", "c", "d"} {
		if got := readyCondition(nodes[name]).Status; got != corev1.ConditionUnknown {
			t.Errorf("%s: Ready %s, want Unknown", name, got)
		}
	}
	// b and c were synced while the zone had fewer than three not-ready
	// nodes: tainted. d came after the zone turned partially disrupted
	// (3 of 4): not tainted. (Upstream's rate limiter lets about one node
	// through before it notices.)
	var tainted []string
	for _, name := range names {
		if len(noExecuteTaints(nodes[name])) > 0 {
			tainted = append(tainted, name)
		}
	}
	if len(tainted) != 2 || tainted[0] != "b" || tainted[1] != "c" {
		t.Errorf("NoExecute-tainted nodes %v, want b and c", tainted)
	}
}
