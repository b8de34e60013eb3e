package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// createNode creates a Ready node with allocatable cpu and memory (and
// 110 pods), labels and taints: the Node object only, as a node agent would
// register it.
func createNode(t *testing.T, s *testserver.Server, name, cpu, memory string, labels map[string]string, taints ...corev1.Taint) {
	t.Helper()
	ctx := t.Context()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	node, err := s.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(memory),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node.Status = corev1.NodeStatus{
		Capacity:    res,
		Allocatable: res,
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
	}
	if _, err := s.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
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
	// kubelite's API server has no Priority admission plugin yet, which
	// would resolve priorityClassName into spec.priority; set it directly.
	priority := func(v int32) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.Priority = &v } }
	createNode(t, s, "only", "2", "4Gi", nil)
	createPod(t, s, "victim", "1500m", priority(10))
	boundTo(t, s, "victim")
	createPod(t, s, "never", "1", priority(1000), func(p *corev1.Pod) {
		never := corev1.PreemptNever
		p.Spec.PreemptionPolicy = &never
	})
	if msg, want := unschedulable(t, s, "never"), "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."; msg != want {
		t.Errorf("message = %q, want %q", msg, want)
	}
	if err := s.Client.CoreV1().Pods("default").Delete(ctx, "never", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	createPod(t, s, "preemptor", "1", priority(1000))
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
}

// TestConstraints runs the constraint plugins in a real server: pod
// anti-affinity spreads two replicas over two nodes, a third waits; a
// claim bound to a local volume pins its pod to the volume's node; host
// ports do not collide; a cordoned node takes nothing.
func TestConstraints(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	createNode(t, s, "n1", "4", "8Gi", map[string]string{"kubernetes.io/hostname": "n1"})
	createNode(t, s, "n2", "4", "8Gi", map[string]string{"kubernetes.io/hostname": "n2"})

	anti := func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "web"}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				TopologyKey:   "kubernetes.io/hostname",
			}},
		}}
	}
	createPod(t, s, "web-1", "100m", anti)
	createPod(t, s, "web-2", "100m", anti)
	if a, b := boundTo(t, s, "web-1"), boundTo(t, s, "web-2"); a == b {
		t.Errorf("both replicas on %s", a)
	}
	createPod(t, s, "web-3", "100m", anti)
	if msg := unschedulable(t, s, "web-3"); !strings.HasPrefix(msg, "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.") {
		t.Errorf("web-3: %q", msg)
	}

	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "local-n2"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disk"}},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"n2"}}},
			}}}},
		},
	}
	if _, err := s.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	empty := ""
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			VolumeName:       "local-n2",
			StorageClassName: &empty,
		},
	}
	if _, err := s.Client.CoreV1().PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"db-1", "db-2"} {
		createPod(t, s, name, "100m", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
		})
		if got := boundTo(t, s, name); got != "n2" {
			t.Errorf("%s bound to %s, want n2 (the volume's node)", name, got)
		}
	}

	port := func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
	}
	createPod(t, s, "port-1", "100m", port)
	createPod(t, s, "port-2", "100m", port)
	if a, b := boundTo(t, s, "port-1"), boundTo(t, s, "port-2"); a == b {
		t.Errorf("both host-port pods on %s", a)
	}

	n1, err := s.Client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n1.Spec.Unschedulable = true
	if _, err := s.Client.CoreV1().Nodes().Update(ctx, n1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	createPod(t, s, "after-cordon", "100m")
	waitPod(t, s, "after-cordon", "bound to n2", func(p *corev1.Pod) bool { return p.Spec.NodeName == "n2" })
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

// TestRetries: an unschedulable pod is retried when an assigned pod is
// deleted and frees room; a gated pod waits untouched until its gates are
// removed; topology spread and pod affinity place pods as required.
func TestRetries(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	pods := s.Client.CoreV1().Pods("default")
	createNode(t, s, "a1", "1", "2Gi", map[string]string{"topology.kubernetes.io/zone": "a"})

	createPod(t, s, "hog", "800m")
	boundTo(t, s, "hog")
	createPod(t, s, "waits", "500m")
	want := "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
	if msg := unschedulable(t, s, "waits"); msg != want {
		t.Errorf("message = %q\nwant %q", msg, want)
	}
	if err := pods.Delete(ctx, "hog", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if got := boundTo(t, s, "waits"); got != "a1" {
		t.Errorf("waits bound to %s", got)
	}

	createPod(t, s, "gated", "100m", func(p *corev1.Pod) {
		p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
	})
	time.Sleep(300 * time.Millisecond)
	p, err := pods.Get(ctx, "gated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" {
		t.Fatalf("gated pod bound to %s", p.Spec.NodeName)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonUnschedulable {
			t.Errorf("gated pod marked unschedulable: %q", c.Message)
		}
	}
	p.Spec.SchedulingGates = nil
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	boundTo(t, s, "gated")

	// Two more zones; spread with maxSkew 1 fills b and c before a again.
	createNode(t, s, "b1", "4", "4Gi", map[string]string{"topology.kubernetes.io/zone": "b"})
	createNode(t, s, "c1", "4", "4Gi", map[string]string{"topology.kubernetes.io/zone": "c"})
	spread := func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "spread"}
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
		}}
	}
	zones := map[string]int{}
	for i := range 3 {
		name := fmt.Sprintf("spread-%d", i)
		createPod(t, s, name, "10m", spread)
		zones[boundTo(t, s, name)]++
	}
	if len(zones) != 3 {
		t.Errorf("spread pods per node = %v, want one in each zone", zones)
	}

	createPod(t, s, "follower", "10m", func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
				TopologyKey:   "topology.kubernetes.io/zone",
			}},
		}}
		p.Spec.NodeSelector = map[string]string{"topology.kubernetes.io/zone": "c"}
	})
	if got := boundTo(t, s, "follower"); got != "c1" {
		t.Errorf("follower bound to %s", got)
	}
}
