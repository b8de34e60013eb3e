package scheduler_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

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
	// The scheduler learns of the cordon through its node watch, the pod
	// through its pod watch; give the first a head start.
	time.Sleep(300 * time.Millisecond)
	createPod(t, s, "after-cordon", "100m")
	waitPod(t, s, "after-cordon", "bound to n2", func(p *corev1.Pod) bool { return p.Spec.NodeName == "n2" })
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

	// Extended resources count like cpu.
	gpu, err := s.Client.CoreV1().Nodes().Get(ctx, "a1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gpu.Status.Allocatable["example.com/gpu"] = resource.MustParse("1")
	gpu.Status.Capacity["example.com/gpu"] = resource.MustParse("1")
	if _, err := s.Client.CoreV1().Nodes().UpdateStatus(ctx, gpu, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	withGPU := func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1")
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
	}
	createPod(t, s, "gpu-1", "10m", withGPU)
	boundTo(t, s, "gpu-1")
	createPod(t, s, "gpu-2", "10m", withGPU)
	if msg := unschedulable(t, s, "gpu-2"); !strings.HasPrefix(msg, "0/1 nodes are available: 1 Insufficient example.com/gpu.") {
		t.Errorf("gpu-2: %q", msg)
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

// TestNotReadyNode: the node lifecycle controller taints a NotReady node
// not-ready, so pods wait; when it turns Ready the taint goes and they are
// placed.
func TestNotReadyNode(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	createNode(t, s, "flaky", "4", "4Gi", nil)
	node, err := s.Client.CoreV1().Nodes().Get(ctx, "flaky", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Conditions[0].Status = corev1.ConditionFalse
	if node, err = s.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, "flaky", metav1.GetOptions{})
		return err == nil && slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
			return t.Key == corev1.TaintNodeNotReady && t.Effect == corev1.TaintEffectNoSchedule
		}), nil
	})
	if err != nil {
		t.Fatalf("NotReady node not tainted not-ready:NoSchedule: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the scheduler's node watch
	createPod(t, s, "waits-for-ready", "100m")
	want := "0/1 nodes are available: 1 node(s) had untolerated taint(s). preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	if msg := unschedulable(t, s, "waits-for-ready"); msg != want {
		t.Errorf("message = %q\nwant %q", msg, want)
	}
	// Re-read: the controller's taint changed the node since.
	if node, err = s.Client.CoreV1().Nodes().Get(ctx, "flaky", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	node.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := s.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := boundTo(t, s, "waits-for-ready"); got != "flaky" {
		t.Errorf("bound to %s", got)
	}
}
