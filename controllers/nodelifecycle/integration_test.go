package nodelifecycle_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// grace is the node monitor grace period of the test server: longer than
// the simulated node's 10 s Lease renewals, so that it stays Ready.
const grace = 15 * time.Second

// simNode is the server's one simulated node, which stays healthy.
const simNode = "kubelite-sim-0000"

// TestNodeLifecycle runs the node lifecycle, taint eviction and pod GC
// controllers in a real server with one simulated node (so that the zone
// keeps a Ready node) and hand-made nodes that no agent runs.
func TestNodeLifecycle(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:   t.TempDir(),
		Simulated: app.SimulatedNodesConfig{Count: 1},
		Controllers: app.ControllersConfig{
			NodeMonitorGracePeriod: grace,
			PodGCQuarantine:        time.Second,
		},
	})
	c := s.Client
	ctx := context.Background()

	t.Run("silent node goes Unknown, is tainted, its pods are evicted; it recovers", func(t *testing.T) {
		t.Parallel()
		ns, node := "silent", "silent-node"
		s.CreateNamespace(t, ns)
		start := time.Now()
		makeNode(t, c, node)
		renewLease(t, c, node)
		untolerated := bindPod(t, c, ns, "untolerated", node, corev1.Toleration{
			// Names the taint, so no default toleration is added, but never
			// matches its empty value.
			Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpEqual, Value: "never", Effect: corev1.TaintEffectNoExecute,
		})
		bindPod(t, c, ns, "tolerates-3s", node, corev1.Toleration{
			Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](3),
		})
		bindPod(t, c, ns, "forever", node, corev1.Toleration{
			Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute,
		})
		defaulted := bindPod(t, c, ns, "defaulted", node)
		for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
			if !slices.ContainsFunc(defaulted.Spec.Tolerations, func(tol corev1.Toleration) bool {
				return tol.Key == key && tol.Effect == corev1.TaintEffectNoExecute && ptr.Deref(tol.TolerationSeconds, 0) == 300
			}) {
				t.Errorf("pod without tolerations got %v, want DefaultTolerationSeconds' 300 s for %s", defaulted.Spec.Tolerations, key)
			}
		}

		n := waitNode(t, c, node, 2*grace, func(n *corev1.Node) bool {
			return hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
		})
		tainted := time.Now()
		t.Logf("unreachable NoExecute taint after %v (grace %v)", tainted.Sub(start).Round(100*time.Millisecond), grace)
		if tainted.Sub(start) < grace {
			t.Errorf("node tainted after %v, before the grace period %v", tainted.Sub(start), grace)
		}
		for _, typ := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
			cond := condition(n, typ)
			if cond == nil || cond.Status != corev1.ConditionUnknown || cond.Reason != "NodeStatusUnknown" || cond.Message != "Kubelet stopped posting node status." {
				t.Errorf("condition %s = %+v, want Unknown NodeStatusUnknown", typ, cond)
			}
		}
		if !hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) {
			t.Errorf("taints %v lack unreachable:NoSchedule", n.Spec.Taints)
		}

		evicted := waitPod(t, c, ns, "untolerated", 10*time.Second, func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
		t.Logf("untolerated pod evicted %v after the taint", time.Since(tainted).Round(100*time.Millisecond))
		if cond := podCondition(evicted, corev1.DisruptionTarget); cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "DeletionByTaintManager" {
			t.Errorf("evicted pod's DisruptionTarget = %+v, want True DeletionByTaintManager", cond)
		}
		waitPod(t, c, ns, "tolerates-3s", 10*time.Second, func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
		after := time.Since(tainted)
		t.Logf("pod tolerating 3 s evicted %v after the taint", after.Round(100*time.Millisecond))
		if after < 2500*time.Millisecond || after > 6*time.Second {
			t.Errorf("pod tolerating 3 s evicted %v after the taint", after)
		}
		for _, name := range []string{"forever", "defaulted"} {
			p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || p.DeletionTimestamp != nil {
				t.Errorf("pod %s that tolerates the taint (long enough) was evicted: %v", name, err)
				continue
			}
			if cond := podCondition(p, corev1.PodReady); cond == nil || cond.Status != corev1.ConditionFalse {
				t.Errorf("pod %s on the Unknown node: Ready %+v, want False", name, cond)
			}
		}
		wantEvent(t, c, ns, untolerated.Name, "TaintManagerEviction")
		wantEvent(t, c, ns, "forever", "NodeNotReady")

		// The agent comes back: it renews the Lease and posts Ready.
		renewLease(t, c, node)
		postReady(t, c, node)
		n = waitNode(t, c, node, 10*time.Second, func(n *corev1.Node) bool {
			return !hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) && !hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)
		})
		if len(n.Spec.Taints) != 0 {
			t.Errorf("recovered node keeps taints %v", n.Spec.Taints)
		}
	})

	t.Run("deleting the Lease evicts after the toleration", func(t *testing.T) {
		t.Parallel()
		ns, node := "leaseless", "leaseless-node"
		s.CreateNamespace(t, ns)
		makeNode(t, c, node)
		renewLease(t, c, node)
		bindPod(t, c, ns, "tolerates-2s", node, corev1.Toleration{
			Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](2),
		})
		if err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, node, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNode(t, c, node, 2*grace, func(n *corev1.Node) bool {
			return hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
		})
		tainted := time.Now()
		p := waitPod(t, c, ns, "tolerates-2s", 10*time.Second, func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
		if after := time.Since(tainted); after < 1500*time.Millisecond {
			t.Errorf("pod tolerating 2 s evicted %v after the taint", after)
		}
		if cond := podCondition(p, corev1.DisruptionTarget); cond == nil || cond.Reason != "DeletionByTaintManager" {
			t.Errorf("DisruptionTarget = %+v", cond)
		}
	})

	t.Run("condition and cordon taints", func(t *testing.T) {
		t.Parallel()
		node := "pressured-node"
		makeNode(t, c, node)
		renewLease(t, c, node)
		n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		condition(n, corev1.NodeMemoryPressure).Status = corev1.ConditionTrue
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		n = waitNode(t, c, node, 10*time.Second, func(n *corev1.Node) bool {
			return hasTaint(n, corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)
		})
		if len(n.Spec.Taints) != 1 {
			t.Errorf("taints %v, want memory-pressure:NoSchedule only", n.Spec.Taints)
		}
		// The agent reports not ready (Ready False): not-ready taints.
		condition(n, corev1.NodeReady).Status = corev1.ConditionFalse
		condition(n, corev1.NodeReady).LastHeartbeatTime = metav1.Now()
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNode(t, c, node, 10*time.Second, func(n *corev1.Node) bool {
			return hasTaint(n, corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute) && hasTaint(n, corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule)
		})
		if err := c.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}

		patch := []byte(`{"spec":{"unschedulable":true}}`)
		if _, err := c.CoreV1().Nodes().Patch(ctx, simNode, "application/strategic-merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNode(t, c, simNode, 10*time.Second, func(n *corev1.Node) bool {
			return hasTaint(n, corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)
		})
		patch = []byte(`{"spec":{"unschedulable":false}}`)
		if _, err := c.CoreV1().Nodes().Patch(ctx, simNode, "application/strategic-merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNode(t, c, simNode, 10*time.Second, func(n *corev1.Node) bool { return len(n.Spec.Taints) == 0 })
	})

	t.Run("pods of a deleted node are collected", func(t *testing.T) {
		t.Parallel()
		ns, node := "orphans", "doomed-node"
		s.CreateNamespace(t, ns)
		makeNode(t, c, node)
		bindPod(t, c, ns, "orphan", node)
		last := watchPod(t, c, ns, "orphan")
		if err := c.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatalf("pod of the deleted node still there: %v", err)
		}
		p := last()
		if p == nil {
			t.Fatal("saw no update of the orphan before it went")
		}
		if cond := podCondition(p, corev1.DisruptionTarget); cond == nil || cond.Reason != "DeletionByPodGC" || p.Status.Phase != corev1.PodFailed {
			t.Errorf("orphan before deletion: phase %s, DisruptionTarget %+v; want Failed, DeletionByPodGC", p.Status.Phase, cond)
		}
	})

	t.Cleanup(func() {
		// The simulated node, renewing its Lease, was never marked.
		n, err := c.CoreV1().Nodes().Get(ctx, simNode, metav1.GetOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		if cond := condition(n, corev1.NodeReady); cond == nil || cond.Status != corev1.ConditionTrue {
			t.Errorf("healthy simulated node's Ready = %+v", cond)
		}
	})
}

func makeNode(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	now := metav1.Now()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: now, LastTransitionTime: now},
			},
		},
	}
	if _, err := c.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A new Node is admitted with the not-ready:NoSchedule taint
	// (TaintNodesByCondition); the controller takes it off the healthy node.
	// Wait for that write, which would otherwise race the test's own.
	waitNode(t, c, name, 10*time.Second, func(n *corev1.Node) bool {
		return !hasTaint(n, corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule)
	})
}

// renewLease creates or renews the node's Lease, as its agent would.
func renewLease(t *testing.T, c kubernetes.Interface, node string) {
	t.Helper()
	leases := c.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(context.Background(), node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: node},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(node), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now},
		}
		_, err = leases.Create(context.Background(), l, metav1.CreateOptions{})
	} else if err == nil {
		l.Spec.RenewTime = &now
		_, err = leases.Update(context.Background(), l, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("renew lease of %s: %v", node, err)
	}
}

// postReady posts the node's Ready condition True with a fresh heartbeat.
func postReady(t *testing.T, c kubernetes.Interface, node string) {
	t.Helper()
	n, err := c.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	for i := range n.Status.Conditions {
		cond := &n.Status.Conditions[i]
		cond.Status, cond.Reason, cond.Message, cond.LastHeartbeatTime, cond.LastTransitionTime = corev1.ConditionFalse, "", "", now, now
		if cond.Type == corev1.NodeReady {
			cond.Status, cond.Reason = corev1.ConditionTrue, "KubeletReady"
		}
	}
	if _, err := c.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// bindPod creates a pod bound to node and reports it Running and Ready, as
// an agent would.
func bindPod(t *testing.T, c kubernetes.Interface, ns, name, node string, tolerations ...corev1.Toleration) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName:    node,
			Tolerations: tolerations,
			Containers:  []corev1.Container{{Name: "app", Image: "busybox"}},
		},
	}
	p, err := c.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	if p, err = c.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// watchPod watches the pod and returns a function giving the last version
// seen before it was deleted.
func watchPod(t *testing.T, c kubernetes.Interface, ns, name string) func() *corev1.Pod {
	t.Helper()
	w, err := c.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	var mu sync.Mutex
	var last *corev1.Pod
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == "MODIFIED" {
				mu.Lock()
				last = p
				mu.Unlock()
			}
			if ev.Type == "DELETED" {
				return
			}
		}
	}()
	return func() *corev1.Pod {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func waitNode(t *testing.T, c kubernetes.Interface, name string, timeout time.Duration, ok func(*corev1.Node) bool) *corev1.Node {
	t.Helper()
	var n *corev1.Node
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		n, err = c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && ok(n), nil
	})
	if err != nil {
		t.Fatalf("node %s: condition not met in %v; last seen taints %v, conditions %+v", name, timeout, taintsOf(n), conditionsOf(n))
	}
	return n
}

func waitPod(t *testing.T, c kubernetes.Interface, ns, name string, timeout time.Duration, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		p, err = c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && ok(p), nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s: condition not met in %v", ns, name, timeout)
	}
	return p
}

func wantEvent(t *testing.T, c kubernetes.Interface, ns, pod, reason string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		return slices.ContainsFunc(events.Items, func(e corev1.Event) bool {
			return e.InvolvedObject.Name == pod && e.Reason == reason
		}), nil
	})
	if err != nil {
		t.Errorf("no %s event for pod %s/%s", reason, ns, pod)
	}
}

func hasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key && t.Effect == effect })
}

func condition(n *corev1.Node, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == typ {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func podCondition(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func taintsOf(n *corev1.Node) string {
	if n == nil {
		return "<no node>"
	}
	return fmt.Sprint(n.Spec.Taints)
}

func conditionsOf(n *corev1.Node) string {
	if n == nil {
		return ""
	}
	var out []string
	for _, c := range n.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	return fmt.Sprint(out)
}
