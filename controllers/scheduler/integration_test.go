package scheduler_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// createNode creates a Ready node with allocatable cpu and memory (and
// 110 pods), labels and taints: the Node object only, as a node agent would
// register it.
func createNode(t *testing.T, s *testserver.Server, name, cpu, memory string, labels map[string]string, taints ...corev1.Taint) {
	t.Helper()
	createNodeWith(t, s, name, corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(memory),
		corev1.ResourcePods:   resource.MustParse("110"),
	}, func(n *corev1.Node) {
		n.Labels = labels
		n.Spec.Taints = taints
	})
}

// createNodeWith creates a Ready node whose capacity and allocatable are
// res, as mutate makes it (labels, taints, cordon), and waits until the
// node lifecycle controller has taken off the not-ready taint that new
// nodes are admitted with.
func createNodeWith(t *testing.T, s *testserver.Server, name string, res corev1.ResourceList, mutate func(*corev1.Node)) {
	t.Helper()
	ctx := t.Context()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if mutate != nil {
		mutate(node)
	}
	if _, err := s.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The node lifecycle controller writes the new Node too (it was admitted
	// with the not-ready taint): retry on its conflicts.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Status = corev1.NodeStatus{
			Capacity:    res,
			Allocatable: res,
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
		}
		_, err = s.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the controller's write, so that the test's own later ones
	// do not race it.
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		node, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return !slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady }), nil
	})
	if err != nil {
		t.Fatalf("node %s keeps the not-ready taint: %v", name, err)
	}
}

func createPod(t *testing.T, s *testserver.Server, name, cpu string, mutate ...func(*corev1.Pod)) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
	}
	for _, m := range mutate {
		m(pod)
	}
	if _, err := s.Client.CoreV1().Pods("default").Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitPod polls pod name until cond holds and returns it.
func waitPod(t *testing.T, s *testserver.Server, name string, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := s.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return cond(p), nil
	})
	if err != nil {
		t.Fatalf("pod %s: never %s; last: node %q, status %+v", name, what, last.Spec.NodeName, last.Status)
	}
	return last
}

func boundTo(t *testing.T, s *testserver.Server, name string) string {
	t.Helper()
	return waitPod(t, s, name, "bound", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" }).Spec.NodeName
}

func unschedulable(t *testing.T, s *testserver.Server, name string) string {
	t.Helper()
	p := waitPod(t, s, name, "unschedulable", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return true
			}
		}
		return false
	})
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Message
		}
	}
	return ""
}

// scheduledTrue checks that bound pod name has the PodScheduled condition,
// status True, that the binding sets.
func scheduledTrue(t *testing.T, s *testserver.Server, name string) {
	t.Helper()
	waitPod(t, s, name, "PodScheduled=True", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled {
				return c.Status == corev1.ConditionTrue && c.Reason == "" && c.Message == ""
			}
		}
		return false
	})
}

// eventNotes lists the notes of the events with reason about pod name.
func eventNotes(t *testing.T, s *testserver.Server, name, reason string) []string {
	t.Helper()
	var notes []string
	_ = wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := s.Client.EventsV1().Events("default").List(ctx, metav1.ListOptions{
			FieldSelector: fields.Set{"regarding.name": name, "reason": reason}.String(),
		})
		if err != nil {
			return false, nil
		}
		notes = notes[:0]
		for _, e := range list.Items {
			notes = append(notes, e.Note)
		}
		return len(notes) > 0, nil
	})
	return notes
}

// TestScheduling runs the scheduler in a real server: pods land on the
// node that fits them, a pod no node fits gets upstream's
// FailedScheduling message and condition, and is placed once a node with
// room appears; a pod for another scheduler is left alone.
func TestScheduling(t *testing.T) {
	s := testserver.Start(t)
	createNode(t, s, "small", "1", "4Gi", map[string]string{"size": "small"})
	createNode(t, s, "big", "4", "8Gi", map[string]string{"size": "big"})
	createNode(t, s, "tainted", "8", "8Gi", nil, corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule})

	createPod(t, s, "needs-2", "2")
	if got := boundTo(t, s, "needs-2"); got != "big" {
		t.Errorf("needs-2 bound to %s, want big", got)
	}
	createPod(t, s, "selects-small", "100m", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"size": "small"} })
	if got := boundTo(t, s, "selects-small"); got != "small" {
		t.Errorf("selects-small bound to %s, want small", got)
	}
	createPod(t, s, "tolerates", "6", func(p *corev1.Pod) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	})
	if got := boundTo(t, s, "tolerates"); got != "tainted" {
		t.Errorf("tolerates bound to %s, want tainted", got)
	}
	if notes := eventNotes(t, s, "needs-2", "Scheduled"); len(notes) != 1 || notes[0] != "Successfully assigned default/needs-2 to big" {
		t.Errorf("Scheduled events = %q", notes)
	}
	scheduledTrue(t, s, "needs-2")

	// big has 2 cpus left, small 0.9: 3 fits nowhere but the tainted node.
	// Preemption cannot help: small is too small even empty, the taint
	// stays, and big has no pod of lower priority.
	createPod(t, s, "needs-3", "3")
	msg := unschedulable(t, s, "needs-3")
	want := "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. " +
		"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
	if msg != want {
		t.Errorf("condition message = %q\nwant %q", msg, want)
	}
	if notes := eventNotes(t, s, "needs-3", "FailedScheduling"); len(notes) == 0 || notes[0] != want {
		t.Errorf("FailedScheduling events = %q", notes)
	}

	createPod(t, s, "other-scheduler", "100m", func(p *corev1.Pod) { p.Spec.SchedulerName = "someone-else" })

	createNode(t, s, "bigger", "8", "16Gi", nil)
	if got := boundTo(t, s, "needs-3"); got != "bigger" {
		t.Errorf("needs-3 bound to %s, want bigger", got)
	}
	// The binding turned the False condition True.
	scheduledTrue(t, s, "needs-3")
	time.Sleep(200 * time.Millisecond)
	p, err := s.Client.CoreV1().Pods("default").Get(t.Context(), "other-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || strings.Contains(p.Status.String(), "Unschedulable") {
		t.Errorf("pod for another scheduler was touched: node %q, status %v", p.Spec.NodeName, p.Status)
	}
}

// TestPreemption: a pod of higher priority that fits nowhere evicts a
// lower-priority pod, is nominated to its node and bound there once the
// victim is gone; the victim gets the DisruptionTarget condition first.
func TestPreemption(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	// The Priority admission plugin resolves the classes into spec.priority
	// and spec.preemptionPolicy.
	never := corev1.PreemptNever
	for _, pc := range []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "low"}, Value: 10},
		{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000},
		{ObjectMeta: metav1.ObjectMeta{Name: "high-never"}, Value: 1000, PreemptionPolicy: &never},
	} {
		if _, err := s.Client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	priority := func(class string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.PriorityClassName = class } }
	createNode(t, s, "only", "2", "4Gi", nil)
	createPod(t, s, "victim", "1500m", priority("low"))
	boundTo(t, s, "victim")
	createPod(t, s, "never", "1", priority("high-never"))
	if msg, want := unschedulable(t, s, "never"), "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."; msg != want {
		t.Errorf("message = %q, want %q", msg, want)
	}
	if err := s.Client.CoreV1().Pods("default").Delete(ctx, "never", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	createPod(t, s, "preemptor", "1", priority("high"))
	waitPod(t, s, "preemptor", "nominated", func(p *corev1.Pod) bool { return p.Status.NominatedNodeName == "only" })
	victim := waitPod(t, s, "victim", "terminating", func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
	hasTarget := false
	for _, c := range victim.Status.Conditions {
		hasTarget = hasTarget || c.Type == corev1.DisruptionTarget && c.Reason == corev1.PodReasonPreemptionByScheduler
	}
	if !hasTarget {
		t.Errorf("victim conditions = %+v, want DisruptionTarget", victim.Status.Conditions)
	}
	// Until the victim is gone its room is taken, as upstream: the node
	// agent would finish the graceful deletion; do it in its place.
	if err := s.Client.CoreV1().Pods("default").Delete(ctx, "victim", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if got := boundTo(t, s, "preemptor"); got != "only" {
		t.Errorf("preemptor bound to %s", got)
	}
	if notes := eventNotes(t, s, "victim", "Preempted"); len(notes) == 0 || !strings.HasPrefix(notes[0], "Preempted by pod ") {
		t.Errorf("Preempted events = %q", notes)
	}

	// PodDisruptionBudgets: of two nodes where evicting one pod of low
	// priority makes room, preemption picks the one whose victim no budget
	// protects, though the other comes first by name.
	createNode(t, s, "n-a", "2", "4Gi", map[string]string{corev1.LabelHostname: "n-a"})
	createNode(t, s, "n-b", "2", "4Gi", map[string]string{corev1.LabelHostname: "n-b"})
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "protects-a"},
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(0)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}},
	}
	if _, err := s.Client.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"a", "b"} {
		createPod(t, s, "victim-"+app, "1500m", priority("low"), func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": app}
			p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "n-" + app}
		})
		boundTo(t, s, "victim-"+app)
	}
	createPod(t, s, "preemptor-2", "1500m", priority("high"))
	waitPod(t, s, "preemptor-2", "nominated", func(p *corev1.Pod) bool { return p.Status.NominatedNodeName != "" })
	waitPod(t, s, "victim-b", "terminating", func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
	if p, err := s.Client.CoreV1().Pods("default").Get(ctx, "victim-a", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("the budget-protected victim-a was evicted (%v)", err)
	}
	if err := s.Client.CoreV1().Pods("default").Delete(ctx, "victim-b", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if got := boundTo(t, s, "preemptor-2"); got != "n-b" {
		t.Errorf("preemptor-2 bound to %s, want n-b", got)
	}
}

// TestLeaseAfterRestart: the scheduler holds the kube-system/kube-scheduler
// Lease, and a restarted server on the same data takes it over and
// schedules (the old holder released it on its clean stop).
func TestLeaseAfterRestart(t *testing.T) {
	s := testserver.Start(t)
	createNode(t, s, "n1", "1", "1Gi", nil)
	createPod(t, s, "before", "100m")
	boundTo(t, s, "before")
	lease, err := s.Client.CoordinationV1().Leases("kube-system").Get(t.Context(), "kube-scheduler", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("scheduler lease = %+v, %v", lease, err)
	}
	s = s.Restart(t)
	start := time.Now()
	createPod(t, s, "after", "100m")
	boundTo(t, s, "after")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("scheduling after restart took %v: the lease was not released", d)
	}
}
