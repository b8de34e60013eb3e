package nodeagent

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

var podT0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func running(name string, attempt int) runtime.Container {
	return runtime.Container{ID: name + "-" + string(rune('0'+attempt)), Name: name, Attempt: attempt, State: runtime.StateRunning, StartedAt: podT0}
}

func exited(name string, attempt int, code int32) runtime.Container {
	return runtime.Container{ID: name + "-" + string(rune('0'+attempt)), Name: name, Attempt: attempt, State: runtime.StateExited,
		StartedAt: podT0, FinishedAt: podT0.Add(time.Second), ExitCode: code}
}

func testPod(policy corev1.RestartPolicy, inits []string, containers ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1", Generation: 1},
		Spec:       corev1.PodSpec{RestartPolicy: policy},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, n := range inits {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Name: n, Image: "img"})
	}
	for _, n := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: n, Image: "img"})
	}
	return pod
}

func sandbox(cs ...runtime.Container) *runtime.PodStatus {
	return &runtime.PodStatus{UID: "uid-1", Sandbox: &runtime.Sandbox{ID: "s", IPs: []string{"10.244.0.5"}, Ready: true}, Containers: cs}
}

func condition(s corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestBuildStatus(t *testing.T) {
	startedState := func(st *podState, names ...string) *podState {
		for _, n := range names {
			cs := st.container(n)
			cs.id, cs.started, cs.ready = n+"-0", true, true
		}
		return st
	}
	tests := []struct {
		name       string
		pod        *corev1.Pod
		rs         *runtime.PodStatus
		state      *podState
		phase      corev1.PodPhase
		ready      corev1.ConditionStatus
		readyMsg   string
		initMsg    string
		waiting    string // first container's waiting reason
		restarts   int32
		lastExit   int32 // first container's lastState exit code, -1 none
		terminated bool  // first container terminated
	}{{
		name: "nothing started yet", pod: testPod(corev1.RestartPolicyAlways, nil, "c"), rs: nil, state: &podState{},
		phase: corev1.PodPending, ready: corev1.ConditionFalse, readyMsg: "containers with unready status: [c]", waiting: "ContainerCreating", lastExit: -1,
	}, {
		name: "running and ready", pod: testPod(corev1.RestartPolicyAlways, nil, "c"), rs: sandbox(running("c", 0)),
		state: startedState(&podState{}, "c"), phase: corev1.PodRunning, ready: corev1.ConditionTrue, lastExit: -1,
	}, {
		name: "running, readiness not passed", pod: testPod(corev1.RestartPolicyAlways, nil, "a", "b"), rs: sandbox(running("a", 0), running("b", 0)),
		state: startedState(&podState{}, "a"), phase: corev1.PodRunning, ready: corev1.ConditionFalse, readyMsg: "containers with unready status: [b]", lastExit: -1,
	}, {
		name: "init container running", pod: testPod(corev1.RestartPolicyAlways, []string{"i"}, "c"), rs: sandbox(running("i", 0)), state: &podState{},
		phase: corev1.PodPending, ready: corev1.ConditionFalse, readyMsg: "containers with unready status: [c]", initMsg: "containers with incomplete status: [i]",
		waiting: "PodInitializing", lastExit: -1,
	}, {
		name: "init container failed, restartPolicy Never", pod: testPod(corev1.RestartPolicyNever, []string{"i"}, "c"), rs: sandbox(exited("i", 0, 1)), state: &podState{},
		phase: corev1.PodFailed, ready: corev1.ConditionFalse, waiting: "PodInitializing", lastExit: -1,
	}, {
		name: "init container failed, restartPolicy OnFailure", pod: testPod(corev1.RestartPolicyOnFailure, []string{"i"}, "c"), rs: sandbox(exited("i", 0, 1)), state: &podState{},
		phase: corev1.PodPending, ready: corev1.ConditionFalse, waiting: "PodInitializing", lastExit: -1,
	}, {
		name: "job container completed", pod: testPod(corev1.RestartPolicyNever, nil, "c"), rs: sandbox(exited("c", 0, 0)), state: &podState{stopped: true},
		phase: corev1.PodSucceeded, ready: corev1.ConditionFalse, lastExit: -1, terminated: true,
	}, {
		name: "job container failed", pod: testPod(corev1.RestartPolicyNever, nil, "c"), rs: sandbox(exited("c", 0, 2)), state: &podState{stopped: true},
		phase: corev1.PodFailed, ready: corev1.ConditionFalse, lastExit: -1, terminated: true,
	}, {
		name: "crash looping", pod: testPod(corev1.RestartPolicyAlways, nil, "c"), rs: sandbox(exited("c", 0, 1), exited("c", 1, 1)),
		state: func() *podState {
			st := &podState{}
			cs := st.container("c")
			cs.waitReason = reasonCrashLoopBackOff
			return st
		}(),
		phase: corev1.PodRunning, ready: corev1.ConditionFalse, readyMsg: "containers with unready status: [c]", waiting: "CrashLoopBackOff", restarts: 1, lastExit: 1,
	}, {
		name: "restarted, running again", pod: testPod(corev1.RestartPolicyAlways, nil, "c"), rs: sandbox(exited("c", 0, 137), running("c", 1)),
		state: func() *podState {
			st := &podState{}
			cs := st.container("c")
			cs.id, cs.started, cs.ready = "c-1", true, true
			return st
		}(),
		phase: corev1.PodRunning, ready: corev1.ConditionTrue, restarts: 1, lastExit: 137,
	}, {
		name: "rejected", pod: testPod(corev1.RestartPolicyAlways, nil, "c"), state: &podState{rejected: &rejection{Reason: "OutOfcpu", Message: "no"}},
		phase: corev1.PodFailed, lastExit: -1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := buildStatus(statusInput{pod: tt.pod, runtime: tt.rs, scheme: "simulated", hostIPs: []string{"192.168.0.2"}, state: tt.state, now: podT0})
			if s.Phase != tt.phase {
				t.Fatalf("phase %s, want %s", s.Phase, tt.phase)
			}
			if tt.state.rejected != nil {
				if s.Reason != "OutOfcpu" || s.Message != "Pod was rejected: no" {
					t.Fatalf("rejected: reason %q message %q", s.Reason, s.Message)
				}
				return
			}
			if s.HostIP != "192.168.0.2" {
				t.Errorf("hostIP %q", s.HostIP)
			}
			if tt.rs != nil && s.PodIP != "10.244.0.5" {
				t.Errorf("podIP %q", s.PodIP)
			}
			r := condition(s, corev1.PodReady)
			if r.Status != tt.ready || (tt.readyMsg != "" && r.Message != tt.readyMsg) {
				t.Errorf("Ready %s %q, want %s %q", r.Status, r.Message, tt.ready, tt.readyMsg)
			}
			if r.LastTransitionTime.IsZero() || r.ObservedGeneration != 1 {
				t.Errorf("Ready condition %+v", r)
			}
			if tt.initMsg != "" {
				if c := condition(s, corev1.PodInitialized); c.Message != tt.initMsg {
					t.Errorf("Initialized message %q, want %q", c.Message, tt.initMsg)
				}
			}
			if c := condition(s, corev1.PodScheduled); c.Status != corev1.ConditionTrue {
				t.Errorf("PodScheduled %+v", c)
			}
			cs := s.ContainerStatuses[0]
			if tt.waiting != "" && (cs.State.Waiting == nil || cs.State.Waiting.Reason != tt.waiting) {
				t.Errorf("state %+v, want waiting %s", cs.State, tt.waiting)
			}
			if cs.RestartCount != tt.restarts {
				t.Errorf("restartCount %d, want %d", cs.RestartCount, tt.restarts)
			}
			switch {
			case tt.lastExit < 0 && cs.LastTerminationState.Terminated != nil:
				t.Errorf("lastState %+v, want none", cs.LastTerminationState)
			case tt.lastExit >= 0 && (cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != tt.lastExit):
				t.Errorf("lastState %+v, want exit %d", cs.LastTerminationState, tt.lastExit)
			}
			if tt.terminated != (cs.State.Terminated != nil) {
				t.Errorf("state %+v, terminated want %v", cs.State, tt.terminated)
			}
			if cs.State.Running != nil && cs.ContainerID != "simulated://"+attemptsOf(tt.rs, cs.Name)[0].ID {
				t.Errorf("containerID %q", cs.ContainerID)
			}
		})
	}
}

func TestBuildStatusKeepsTransitionTimes(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "c")
	st := &podState{}
	cs := st.container("c")
	cs.id, cs.started, cs.ready = "c-0", true, true
	first := buildStatus(statusInput{pod: pod, runtime: sandbox(running("c", 0)), scheme: "simulated", state: st, now: podT0})
	pod.Status = first
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: "example.com/gate", Status: corev1.ConditionTrue})
	second := buildStatus(statusInput{pod: pod, runtime: sandbox(running("c", 0)), scheme: "simulated", state: st, now: podT0.Add(time.Hour)})
	if got := condition(second, corev1.PodReady).LastTransitionTime; !got.Equal(&metav1.Time{Time: podT0}) {
		t.Errorf("Ready lastTransitionTime moved to %v", got)
	}
	if c := condition(second, "example.com/gate"); c.Status != corev1.ConditionTrue {
		t.Errorf("a condition the agent does not own was dropped: %+v", second.Conditions)
	}
}

func TestReadinessGates(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "c")
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	st := &podState{}
	cs := st.container("c")
	cs.id, cs.started, cs.ready = "c-0", true, true
	s := buildStatus(statusInput{pod: pod, runtime: sandbox(running("c", 0)), scheme: "simulated", state: st, now: podT0})
	r := condition(s, corev1.PodReady)
	if r.Status != corev1.ConditionFalse || r.Reason != "ReadinessGatesNotReady" {
		t.Fatalf("Ready %+v, want False ReadinessGatesNotReady", r)
	}
	pod.Status = s
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: "example.com/lb", Status: corev1.ConditionTrue})
	s = buildStatus(statusInput{pod: pod, runtime: sandbox(running("c", 0)), scheme: "simulated", state: st, now: podT0})
	if r := condition(s, corev1.PodReady); r.Status != corev1.ConditionTrue {
		t.Fatalf("Ready %+v with the gate True", r)
	}
}
