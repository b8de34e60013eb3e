package simulated

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// TestRestore: a new runtime (a restarted process) given a pod whose status
// reports simulated containers takes them back as they were, with their
// address, and a Job container still exits on time.
func TestRestore(t *testing.T) {
	before := newFixture(t)
	pod := testPod(ownedByJob, annotate("main", "after=10s"))
	if _, err := before.r.RunPodSandbox(before.ctx, pod); err != nil {
		t.Fatal(err)
	}
	initID, err := before.r.StartContainer(before.ctx, pod, &pod.Spec.InitContainers[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	mainID, err := before.r.StartContainer(before.ctx, pod, &pod.Spec.Containers[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	held, _ := before.r.PodStatus(before.ctx, pod.UID)
	ip := held.Sandbox.IPs[0]

	// The status an agent wrote for that pod.
	pod.Status = corev1.PodStatus{
		PodIPs: []corev1.PodIP{{IP: ip}},
		InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", ContainerID: Type + "://" + initID,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed",
				StartedAt: metav1.NewTime(epoch), FinishedAt: metav1.NewTime(epoch)}}}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "main", ContainerID: Type + "://" + mainID,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(epoch)}}}},
	}
	after := newFixture(t)
	after.clock.SetTime(epoch.Add(4 * time.Second))
	sb, err := after.r.RunPodSandbox(after.ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	if len(sb.IPs) != 1 || sb.IPs[0] != ip {
		t.Errorf("sandbox IPs %v, want [%s]", sb.IPs, ip)
	}
	if c := after.container(pod.UID, initID); c.State != runtime.StateExited || c.ExitCode != 0 {
		t.Errorf("init container %+v", c)
	}
	if c := after.container(pod.UID, mainID); c.State != runtime.StateRunning || !c.StartedAt.Equal(epoch) {
		t.Errorf("main container %+v", c)
	}
	// Starting attempt 0 again is the restored container, not a new one.
	if id, err := after.r.StartContainer(after.ctx, pod, &pod.Spec.Containers[0], 0); err != nil || id != mainID {
		t.Errorf("StartContainer again = %s, %v; want %s", id, err, mainID)
	}
	// Its exit comes 10 s after its original start, not after the restore.
	after.clock.Step(5 * time.Second)
	if c := after.container(pod.UID, mainID); c.State != runtime.StateRunning {
		t.Errorf("exited early: %+v", c)
	}
	after.clock.Step(2 * time.Second)
	if c := after.container(pod.UID, mainID); c.State != runtime.StateExited || c.ExitCode != 0 {
		t.Errorf("after its time: %+v", c)
	}
	// A second pod never gets the restored address.
	for i := range 3 {
		other := testPod(func(p *corev1.Pod) { p.UID, p.Name = types.UID(fmt.Sprint("other-", i)), fmt.Sprint("q", i) })
		sb2, err := after.r.RunPodSandbox(after.ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if sb2.IPs[0] == ip {
			t.Fatalf("address %s handed out twice", ip)
		}
	}
}
