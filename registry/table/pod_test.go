package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Container states used by the pod tests.
func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, exitCode, signal int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exitCode, Signal: signal}}
}

// restarted is a status with n restarts, the last of which ended d ago.
func restarted(st corev1.ContainerStatus, n int32, d time.Duration) corev1.ContainerStatus {
	st.RestartCount = n
	st.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(d)}}
	return st
}

func status(name string, state corev1.ContainerState, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: state, Ready: ready}
}

func condition(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

// testPod has n containers c0..c(n-1) and is a minute old.
func testPod(phase corev1.PodPhase, n int, statuses ...corev1.ContainerStatus) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: ago(time.Minute)},
		Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: statuses},
	}
	for i := range n {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i))})
	}
	return pod
}

// withInit adds init containers i0..; sidecar ones have restartPolicy Always.
func withInit(pod *corev1.Pod, sidecar []bool, statuses ...corev1.ContainerStatus) *corev1.Pod {
	for i, s := range sidecar {
		c := corev1.Container{Name: "i" + string(rune('0'+i))}
		if s {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, c)
	}
	pod.Status.InitContainerStatuses = statuses
	return pod
}

func withConditions(pod *corev1.Pod, cs ...corev1.PodCondition) *corev1.Pod {
	pod.Status.Conditions = append(pod.Status.Conditions, cs...)
	return pod
}

func deleting(pod *corev1.Pod) *corev1.Pod {
	pod.DeletionTimestamp = ptr.To(ago(time.Second))
	return pod
}

func started(st corev1.ContainerStatus) corev1.ContainerStatus {
	st.Started = ptr.To(true)
	return st
}

func TestPodReadyStatusRestarts(t *testing.T) {
	tests := []struct {
		name     string
		pod      *corev1.Pod
		ready    string
		status   string
		restarts string
	}{
		{"pending without statuses", testPod(corev1.PodPending, 2), "0/2", "Pending", "0"},
		{"running and ready", testPod(corev1.PodRunning, 1, status("c0", running(), true)), "1/1", "Running", "0"},
		{"running, one not ready", testPod(corev1.PodRunning, 2, status("c0", running(), true), status("c1", running(), false)), "1/2", "Running", "0"},
		{"status reason replaces phase", func() *corev1.Pod {
			p := testPod(corev1.PodFailed, 1)
			p.Status.Reason = "Evicted"
			return p
		}(), "0/1", "Evicted", "0"},
		{"node lost without deletion shows the reason", func() *corev1.Pod {
			p := testPod(corev1.PodRunning, 1, status("c0", running(), true))
			p.Status.Reason = nodeLostReason
			return p
		}(), "1/1", "NodeLost", "0"},
		{"scheduling gated", withConditions(testPod(corev1.PodPending, 1),
			corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}), "0/1", "SchedulingGated", "0"},
		{"unschedulable stays pending", withConditions(testPod(corev1.PodPending, 1),
			corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}), "0/1", "Pending", "0"},
		{"container creating", testPod(corev1.PodPending, 1, status("c0", waiting("ContainerCreating"), false)), "0/1", "ContainerCreating", "0"},
		{"crash loop with restart age", testPod(corev1.PodRunning, 1,
			restarted(status("c0", waiting("CrashLoopBackOff"), false), 4, 2*time.Minute)), "0/1", "CrashLoopBackOff", "4 (2m ago)"},
		{"restarts without last termination time", testPod(corev1.PodRunning, 1,
			corev1.ContainerStatus{Name: "c0", State: running(), Ready: true, RestartCount: 2}), "1/1", "Running", "2"},
		{"restart age is the most recent", testPod(corev1.PodRunning, 2,
			restarted(status("c0", running(), true), 1, time.Hour), restarted(status("c1", running(), true), 2, 3*time.Minute)), "2/2", "Running", "3 (3m ago)"},
		{"the earliest container with a reason wins", testPod(corev1.PodRunning, 2,
			status("c0", waiting("ImagePullBackOff"), false), status("c1", waiting("ErrImagePull"), false)), "0/2", "ImagePullBackOff", "0"},
		{"terminated with reason", testPod(corev1.PodFailed, 1, status("c0", terminated("OOMKilled", 137, 0), false)), "0/1", "OOMKilled", "0"},
		{"terminated by signal", testPod(corev1.PodFailed, 1, status("c0", terminated("", 137, 9), false)), "0/1", "Signal:9", "0"},
		{"terminated with exit code", testPod(corev1.PodFailed, 1, status("c0", terminated("", 2, 0), false)), "0/1", "ExitCode:2", "0"},
		{"completed", testPod(corev1.PodSucceeded, 1, status("c0", terminated("Completed", 0, 0), false)), "0/1", "Completed", "0"},
		{"completed but another running and pod ready", withConditions(testPod(corev1.PodRunning, 2,
			status("c0", terminated("Completed", 0, 0), false), status("c1", running(), true)),
			condition(corev1.PodReady, corev1.ConditionTrue)), "1/2", "Running", "0"},
		{"completed but another running and pod not ready", testPod(corev1.PodRunning, 2,
			status("c0", terminated("Completed", 0, 0), false), status("c1", running(), true)), "1/2", "NotReady", "0"},
		{"completed but another failed", testPod(corev1.PodRunning, 3,
			status("c0", terminated("Completed", 0, 0), false), status("c1", running(), true), status("c2", terminated("Error", 1, 0), false)),
			"1/3", "Error", "0"},
		{"completed reason after error reason", testPod(corev1.PodFailed, 2,
			status("c0", terminated("Completed", 0, 0), false), status("c1", terminated("", 3, 0), false)), "0/2", "ExitCode:3", "0"},
		{"init waiting to start", withInit(testPod(corev1.PodPending, 1), []bool{false, false},
			status("i0", waiting("PodInitializing"), false), status("i1", waiting("PodInitializing"), false)), "0/1", "Init:0/2", "0"},
		{"second init running", withInit(testPod(corev1.PodPending, 1), []bool{false, false},
			status("i0", terminated("Completed", 0, 0), false), status("i1", running(), false)), "0/1", "Init:1/2", "0"},
		{"init crash loop counts init restarts", withInit(testPod(corev1.PodPending, 1, restarted(status("c0", waiting("PodInitializing"), false), 7, time.Hour)), []bool{false},
			restarted(status("i0", waiting("CrashLoopBackOff"), false), 3, 90*time.Second)), "0/1", "Init:CrashLoopBackOff", "3 (90s ago)"},
		{"init failed with reason", withInit(testPod(corev1.PodPending, 1), []bool{false},
			status("i0", terminated("Error", 1, 0), false)), "0/1", "Init:Error", "0"},
		{"init failed by signal", withInit(testPod(corev1.PodPending, 1), []bool{false},
			status("i0", terminated("", 1, 15), false)), "0/1", "Init:Signal:15", "0"},
		{"init failed with exit code", withInit(testPod(corev1.PodPending, 1), []bool{false},
			status("i0", terminated("", 4, 0), false)), "0/1", "Init:ExitCode:4", "0"},
		{"init walk stops at the blocking container", withInit(testPod(corev1.PodPending, 1), []bool{false, false},
			status("i0", waiting("ErrImagePull"), false), status("i1", terminated("Error", 1, 0), false)), "0/1", "Init:ErrImagePull", "0"},
		{"sidecar counts toward total and ready", withInit(testPod(corev1.PodRunning, 1, status("c0", running(), true)), []bool{true},
			started(status("i0", running(), true))), "2/2", "Running", "0"},
		{"started sidecar not ready", withInit(testPod(corev1.PodRunning, 1, status("c0", running(), true)), []bool{true},
			started(status("i0", running(), false))), "1/2", "Running", "0"},
		{"sidecar not started blocks init", withInit(testPod(corev1.PodPending, 1), []bool{true, false},
			status("i0", running(), false), status("i1", waiting("PodInitializing"), false)), "0/2", "Init:0/2", "0"},
		{"sidecar then regular init", withInit(testPod(corev1.PodPending, 1), []bool{true, false},
			started(status("i0", running(), true)), status("i1", running(), false)), "1/2", "Init:1/2", "0"},
		{"sidecar restarts count once initialized", withInit(testPod(corev1.PodRunning, 1, restarted(status("c0", running(), true), 1, time.Hour)), []bool{false, true},
			restarted(status("i0", terminated("Completed", 0, 0), false), 5, time.Minute),
			restarted(started(status("i1", running(), true)), 2, 10*time.Minute)), "2/2", "Running", "3 (10m ago)"},
		{"initialized condition lets containers decide", withConditions(withInit(testPod(corev1.PodRunning, 1, status("c0", waiting("CrashLoopBackOff"), false)), []bool{false},
			status("i0", waiting("PodInitializing"), false)), condition(corev1.PodInitialized, corev1.ConditionTrue)), "0/1", "CrashLoopBackOff", "0"},
		{"terminating", deleting(testPod(corev1.PodRunning, 1, status("c0", running(), true))), "1/1", "Terminating", "0"},
		{"terminating while initializing", deleting(withInit(testPod(corev1.PodPending, 1), []bool{false}, status("i0", running(), false))), "0/1", "Terminating", "0"},
		{"deleted succeeded pod stays completed", deleting(testPod(corev1.PodSucceeded, 1, status("c0", terminated("Completed", 0, 0), false))), "0/1", "Completed", "0"},
		{"deleted failed pod keeps its reason", deleting(testPod(corev1.PodFailed, 1, status("c0", terminated("Error", 1, 0), false))), "0/1", "Error", "0"},
		{"deleted pod on lost node is unknown", func() *corev1.Pod {
			p := deleting(testPod(corev1.PodRunning, 1, status("c0", running(), true)))
			p.Status.Reason = nodeLostReason
			return p
		}(), "1/1", "Unknown", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, Pods(), tt.pod)
			want := []interface{}{"web", tt.ready, tt.status, tt.restarts, "60s"}
			if diff := cmp.Diff(want, row.Cells[:5]); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodWideCells(t *testing.T) {
	tests := []struct {
		name string
		edit func(*corev1.Pod)
		want []interface{}
	}{
		{"unscheduled", func(*corev1.Pod) {}, []interface{}{"<none>", "<none>", "<none>", "<none>"}},
		{"scheduled with IPs", func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Status.PodIP = "10.0.0.9"
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.9"}, {IP: "fd00::9"}}
		}, []interface{}{"10.0.0.9", "node-1", "<none>", "<none>"}},
		{"only the singular pod IP", func(p *corev1.Pod) { p.Status.PodIP = "10.0.0.7" },
			[]interface{}{"10.0.0.7", "<none>", "<none>", "<none>"}},
		{"nominated", func(p *corev1.Pod) { p.Status.NominatedNodeName = "node-2" },
			[]interface{}{"<none>", "<none>", "node-2", "<none>"}},
		{"readiness gates", func(p *corev1.Pod) {
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "a"}, {ConditionType: "b"}, {ConditionType: "c"}}
			p.Status.Conditions = []corev1.PodCondition{
				condition("a", corev1.ConditionTrue),
				condition("b", corev1.ConditionFalse),
				condition("b", corev1.ConditionTrue), // only the first condition of a type counts
			}
		}, []interface{}{"<none>", "<none>", "<none>", "1/3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod(corev1.PodPending, 1)
			tt.edit(pod)
			row := rowOf(t, Pods(), pod)
			if diff := cmp.Diff(tt.want, row.Cells[5:]); diff != "" {
				t.Errorf("wide cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodRowConditions(t *testing.T) {
	completed := func(reason, msg string) []metav1.TableRowCondition {
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: reason, Message: msg}}
	}
	tests := []struct {
		phase corev1.PodPhase
		want  []metav1.TableRowCondition
	}{
		{corev1.PodPending, nil},
		{corev1.PodRunning, nil},
		{corev1.PodSucceeded, completed("Succeeded", "The pod has completed successfully.")},
		{corev1.PodFailed, completed("Failed", "The pod failed.")},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase), func(t *testing.T) {
			row := rowOf(t, Pods(), testPod(tt.phase, 1))
			if diff := cmp.Diff(tt.want, row.Conditions); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}
