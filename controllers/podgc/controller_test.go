package podgc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
)

type fixture struct {
	t      *testing.T
	client *fake.Clientset
	c      *Controller
	clock  *testingclock.FakeClock
	pods   informers.SharedInformerFactory
}

func newFixture(t *testing.T, threshold int, objs ...*corev1.Pod) *fixture {
	t.Helper()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	clock := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c, err := New(Config{
		Client:              client,
		Pods:                factory.Core().V1().Pods(),
		Nodes:               factory.Core().V1().Nodes(),
		TerminatedThreshold: threshold,
		Quarantine:          10 * time.Second,
		Clock:               clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, client: client, c: c, clock: clock, pods: factory}
	for _, p := range objs {
		f.addPod(p)
	}
	return f
}

func (f *fixture) addPod(p *corev1.Pod) {
	f.t.Helper()
	if _, err := f.client.CoreV1().Pods(p.Namespace).Create(f.t.Context(), p, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.pods.Core().V1().Pods().Informer().GetIndexer().Add(p); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) addNode(n *corev1.Node) {
	f.t.Helper()
	if _, err := f.client.CoreV1().Nodes().Create(f.t.Context(), n, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.pods.Core().V1().Nodes().Informer().GetIndexer().Add(n); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sync(key string) {
	f.t.Helper()
	_, ctx := ktesting.NewTestContext(f.t)
	if err := f.c.sync(ctx, key); err != nil {
		f.t.Fatalf("sync %s: %v", key, err)
	}
}

// get returns the pod from the fake server, or nil if it was deleted.
func (f *fixture) get(name string) *corev1.Pod {
	f.t.Helper()
	p, err := f.client.CoreV1().Pods("ns").Get(f.t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func pod(name, node string, phase corev1.PodPhase, created time.Time) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(created)},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func TestTerminatedThreshold(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	evictedPod := pod("evicted", "n", corev1.PodFailed, t0.Add(3*time.Hour))
	evictedPod.Status.Reason = "Evicted"
	f := newFixture(t, 2,
		pod("old", "n", corev1.PodSucceeded, t0),
		pod("running", "n", corev1.PodRunning, t0),
		pod("mid", "n", corev1.PodFailed, t0.Add(time.Hour)),
		pod("new", "n", corev1.PodSucceeded, t0.Add(2*time.Hour)),
		evictedPod,
	)
	f.sync(terminatedKey)
	var left []string
	for _, n := range []string{"old", "running", "mid", "new", "evicted"} {
		if f.get(n) != nil {
			left = append(left, n)
		}
	}
	if diff := cmp.Diff([]string{"running", "mid", "new"}, left); diff != "" {
		t.Errorf("pods left (-want +got):\n%s", diff)
	}
}

func TestOrphanQuarantine(t *testing.T) {
	f := newFixture(t, 0, pod("orphan", "gone", corev1.PodRunning, time.Time{}))
	f.sync("ns/orphan")
	if f.get("orphan") == nil {
		t.Fatal("orphan deleted before its node's quarantine passed")
	}
	f.clock.Step(11 * time.Second)
	f.sync("ns/orphan")
	if f.get("orphan") != nil {
		t.Fatal("orphan not deleted after the quarantine")
	}
	var patched bool
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "patch" && a.GetSubresource() == "status" {
			patched = true
		}
	}
	if !patched {
		t.Error("orphan was not marked (DisruptionTarget, Failed) before deletion")
	}
}

func TestOrphanNodeBack(t *testing.T) {
	f := newFixture(t, 0, pod("p", "late", corev1.PodRunning, time.Time{}))
	f.sync("ns/p")
	// The node exists on the server but the cache has not seen it yet.
	if _, err := f.client.CoreV1().Nodes().Create(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(11 * time.Second)
	f.sync("ns/p")
	if f.get("p") == nil {
		t.Fatal("pod deleted although its node exists on the server")
	}
}

func TestTerminating(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	terminating := func(name, node string) *corev1.Pod {
		p := pod(name, node, corev1.PodRunning, time.Time{})
		p.DeletionTimestamp = &now
		return p
	}
	notReady := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}
	outOfService := []corev1.Taint{{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}}
	f := newFixture(t, 0,
		terminating("unscheduled", ""),
		terminating("on-oos", "oos"),
		terminating("on-ready-oos", "ready-oos"),
		terminating("on-notready", "notready"),
	)
	f.addNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "oos"}, Spec: corev1.NodeSpec{Taints: outOfService}, Status: corev1.NodeStatus{Conditions: notReady}})
	f.addNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ready-oos"}, Spec: corev1.NodeSpec{Taints: outOfService},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}})
	f.addNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "notready"}, Status: corev1.NodeStatus{Conditions: notReady}})
	for _, n := range []string{"unscheduled", "on-oos", "on-ready-oos", "on-notready"} {
		f.sync("ns/" + n)
	}
	for name, gone := range map[string]bool{"unscheduled": true, "on-oos": true, "on-ready-oos": false, "on-notready": false} {
		if (f.get(name) == nil) != gone {
			t.Errorf("pod %s deleted = %v, want %v", name, !gone, gone)
		}
	}
}
