package simulated

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

var epoch = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

// fixture is a Runtime on a fake clock that counts signals per pod.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	clock *testingclock.FakeClock
	r     *Runtime

	mu      sync.Mutex
	signals map[types.UID]int
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, ctx: t.Context(), clock: testingclock.NewFakeClock(epoch), signals: map[types.UID]int{}}
	r, err := New(Config{Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	r.Subscribe(func(uid types.UID) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.signals[uid]++
	})
	return f
}

func (f *fixture) signalled(uid types.UID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.signals[uid]
}

// start runs pod's sandbox and starts its container named name.
func (f *fixture) start(pod *corev1.Pod, name string) string {
	f.t.Helper()
	if _, err := f.r.RunPodSandbox(f.ctx, pod); err != nil {
		f.t.Fatal(err)
	}
	c := specContainer(pod, name)
	id, err := f.r.StartContainer(f.ctx, pod, c, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// container returns the status of container id.
func (f *fixture) container(uid types.UID, id string) runtime.Container {
	f.t.Helper()
	s, err := f.r.PodStatus(f.ctx, uid)
	if err != nil || s == nil {
		f.t.Fatalf("PodStatus = %v, %v", s, err)
	}
	for _, c := range s.Containers {
		if c.ID == id {
			return c
		}
	}
	f.t.Fatalf("container %s not found", id)
	return runtime.Container{}
}

// testPod is a pod with one regular container "main" and one init
// container "init", changed by mods.
func testPod(mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-1"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "main", Image: "nginx"}},
		},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func annotate(name, value string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[AnnotationPrefix+name] = value
	}
}

func ownedByJob(p *corev1.Pod) {
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "j", Controller: ptr.To(true)}}
}

func command(name string, argv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { specContainer(p, name).Command = argv }
}

func sidecar(p *corev1.Pod) {
	p.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
}

// point is what a container looks like at some time after it started.
type point struct {
	at      time.Duration
	state   runtime.State
	code    int32
	reason  string
	signals int
}

func TestLives(t *testing.T) {
	running := func(at time.Duration, signals int) point {
		return point{at: at, state: runtime.StateRunning, signals: signals}
	}
	exited := func(at time.Duration, code int32, reason string) point {
		return point{at: at, state: runtime.StateExited, code: code, reason: reason, signals: 1}
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		container string
		want      []point
	}{
		{"deployment runs", testPod(), "main", []point{running(0, 0), running(time.Hour, 0)}},
		{"init completes", testPod(), "init", []point{running(0, 0), exited(0, 0, "Completed")}},
		{"sidecar runs", testPod(sidecar), "init", []point{running(0, 0), running(time.Hour, 0)}},
		{"job completes after 1s", testPod(ownedByJob), "main", []point{running(999*time.Millisecond, 0), exited(time.Second, 0, "Completed")}},
		{"job init completes at once", testPod(ownedByJob), "init", []point{running(0, 0), exited(0, 0, "Completed")}},
		{"job runs on", testPod(ownedByJob, annotate("main", "exit=never")), "main", []point{running(time.Hour, 0)}},
		{"job fails", testPod(ownedByJob, annotate("main", "exit=2")), "main", []point{running(999*time.Millisecond, 0), exited(time.Second, 2, "Error")}},
		{"job completes after 30s", testPod(ownedByJob, annotate("main", "after=30s")), "main", []point{running(29*time.Second, 0), exited(30*time.Second, 0, "Completed")}},
		{"init fails", testPod(annotate("init", "exit=1")), "init", []point{running(0, 0), exited(0, 1, "Error")}},
		{"oom", testPod(annotate("main", "exit=137, after=5s, reason=OOMKilled")), "main", []point{running(4*time.Second, 0), exited(5*time.Second, 137, "OOMKilled")}},
		{"slow start", testPod(annotate("main", "start=100ms")), "main", []point{{at: 99 * time.Millisecond, state: runtime.StateCreated}, running(100*time.Millisecond, 1), running(time.Hour, 1)}},
		{"slow start then exit", testPod(annotate("main", "start=100ms,after=1s,exit=0")), "main", []point{{at: 0, state: runtime.StateCreated}, running(time.Second, 1), {at: 1100 * time.Millisecond, state: runtime.StateExited, reason: "Completed", signals: 2}}},
		{"true", testPod(command("main", "/bin/true")), "main", []point{running(0, 0), exited(0, 0, "Completed")}},
		{"false", testPod(command("main", "false")), "main", []point{running(0, 0), exited(0, 1, "Error")}},
		{"sh exit", testPod(command("main", "sh", "-c", "exit 7")), "main", []point{running(0, 0), exited(0, 7, "Error")}},
		{"sh sleep exit", testPod(command("main", "/bin/sh", "-c", "sleep 2 && exit 3")), "main", []point{running(time.Second, 0), exited(2*time.Second, 3, "Error")}},
		{"sleep", testPod(command("main", "sleep", "1.5")), "main", []point{running(time.Second, 0), exited(1500*time.Millisecond, 0, "Completed")}},
		{"sleep infinity", testPod(command("main", "sleep", "infinity")), "main", []point{running(time.Hour, 0)}},
		{"annotation beats command", testPod(command("main", "true"), annotate("main", "exit=never")), "main", []point{running(time.Hour, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.start(tc.pod, tc.container)
			var now time.Duration
			for i, want := range tc.want {
				if i > 0 || want.at > 0 { // a first point at 0 is before any timer fires
					f.clock.Step(want.at - now)
				}
				now = want.at
				c := f.container(tc.pod.UID, id)
				got := point{at: now, state: c.State, code: c.ExitCode, reason: c.Reason, signals: f.signalled(tc.pod.UID)}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(point{})); diff != "" {
					t.Errorf("at %v (-want +got):\n%s", now, diff)
				}
				if c.State == runtime.StateExited && !c.FinishedAt.Equal(epoch.Add(now)) && want.at > 0 {
					t.Errorf("finished at %v, want %v", c.FinishedAt, epoch.Add(now))
				}
			}
		})
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		name    string
		ann     string
		grace   time.Duration
		atOnce  bool // exited when StopContainer returns
		at      time.Duration
		code    int32
		reason  string
		signals int
	}{
		{"at once", "", 30 * time.Second, true, 0, 0, "Completed", 0},
		{"takes 2s", "stop=2s", 30 * time.Second, false, 2 * time.Second, 0, "Completed", 1},
		{"takes 2s, code 143", "stop=2s,stopCode=143", 30 * time.Second, false, 2 * time.Second, 143, "Error", 1},
		{"killed after grace", "stop=1m", 5 * time.Second, false, 5 * time.Second, KilledExitCode, "Error", 1},
		{"killed at once", "stop=1s", 0, true, 0, KilledExitCode, "Error", 0},
	}
	for _, tc := range tests {
		for _, whole := range []bool{false, true} {
			name := tc.name + "/container"
			if whole {
				name = tc.name + "/pod"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t)
				pod := testPod()
				if tc.ann != "" {
					annotate("main", tc.ann)(pod)
				}
				id := f.start(pod, "main")
				var err error
				if whole {
					err = f.r.StopPod(f.ctx, pod.UID, tc.grace)
				} else {
					err = f.r.StopContainer(f.ctx, pod, id, tc.grace)
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := f.container(pod.UID, id).State == runtime.StateExited; got != tc.atOnce {
					t.Fatalf("exited when the call returned: %v, want %v", got, tc.atOnce)
				}
				if !tc.atOnce {
					if err := f.r.RemovePod(f.ctx, pod.UID); !errors.Is(err, ErrNotStopped) {
						t.Errorf("RemovePod while stopping = %v, want ErrNotStopped", err)
					}
					f.clock.Step(tc.at - time.Millisecond)
					if got := f.container(pod.UID, id).State; got != runtime.StateRunning {
						t.Fatalf("state before the stop delay: %s, want Running", got)
					}
					f.clock.Step(time.Millisecond)
				}
				c := f.container(pod.UID, id)
				want := runtime.Container{State: runtime.StateExited, ExitCode: tc.code, Reason: tc.reason, FinishedAt: epoch.Add(tc.at)}
				got := runtime.Container{State: c.State, ExitCode: c.ExitCode, Reason: c.Reason, FinishedAt: c.FinishedAt}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("stopped container (-want +got):\n%s", diff)
				}
				if whole {
					s, _ := f.r.PodStatus(f.ctx, pod.UID)
					if s.Sandbox.Ready {
						t.Error("sandbox still ready after its containers stopped")
					}
				}
				if got := f.signalled(pod.UID); got != tc.signals {
					t.Errorf("signals = %d, want %d", got, tc.signals)
				}
				if f.clock.HasWaiters() {
					t.Error("timers left after the container exited")
				}
			})
		}
	}
}

func TestStopCancelsTimers(t *testing.T) {
	f := newFixture(t)
	pod := testPod(ownedByJob)
	id := f.start(pod, "main")
	if !f.clock.HasWaiters() {
		t.Fatal("no timer for the Job container's exit")
	}
	if err := f.r.StopContainer(f.ctx, pod, id, time.Second); err != nil {
		t.Fatal(err)
	}
	if f.clock.HasWaiters() {
		t.Error("exit timer left after StopContainer")
	}
	f.clock.Step(time.Hour)
	if c := f.container(pod.UID, id); c.ExitCode != 0 || !c.FinishedAt.Equal(epoch) || f.signalled(pod.UID) != 0 {
		t.Errorf("container %+v, %d signals; want stopped at once, no signal", c, f.signalled(pod.UID))
	}
}

func TestProbe(t *testing.T) {
	pod := testPod(annotate("main", "readiness=Failure,liveness=Failure@10s,startup=Success@5s"))
	main := &pod.Spec.Containers[0]
	main.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready"}}}
	main.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/live"}}}
	main.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	copied := main.LivenessProbe.DeepCopy()
	f := newFixture(t)
	id := f.start(pod, "main")
	tests := []struct {
		at    time.Duration
		probe *corev1.Probe
		want  runtime.ProbeResult
	}{
		{0, main.ReadinessProbe, runtime.ProbeFailure},
		{0, main.LivenessProbe, runtime.ProbeSuccess},
		{0, copied, runtime.ProbeSuccess},
		{0, main.StartupProbe, runtime.ProbeFailure},
		{5 * time.Second, main.StartupProbe, runtime.ProbeSuccess},
		{10 * time.Second, main.LivenessProbe, runtime.ProbeFailure},
		{10 * time.Second, copied, runtime.ProbeFailure},
		{10 * time.Second, main.ReadinessProbe, runtime.ProbeFailure},
	}
	for _, tc := range tests {
		f.clock.SetTime(epoch.Add(tc.at))
		got, _, err := f.r.Probe(f.ctx, pod, id, tc.probe)
		if err != nil || got != tc.want {
			t.Errorf("at %v probe %v = %v, %v; want %v", tc.at, tc.probe.ProbeHandler, got, err, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		pull bool
		want error
	}{
		{"pull fails", testPod(annotate("main", "pull=fail")), true, ErrImagePull},
		{"bad annotation", testPod(annotate("main", "exit=300")), false, nil},
		{"unknown key", testPod(annotate("main", "crash=yes")), false, nil},
		{"not key=value", testPod(annotate("main", "exit")), false, nil},
		{"bad probe", testPod(annotate("main", "readiness=maybe")), false, nil},
		{"negative", testPod(annotate("main", "after=-1s")), false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if _, err := f.r.RunPodSandbox(f.ctx, tc.pod); err != nil {
				t.Fatal(err)
			}
			c := &tc.pod.Spec.Containers[0]
			var err error
			if tc.pull {
				_, err = f.r.PullImage(f.ctx, tc.pod, c)
			} else {
				_, err = f.r.StartContainer(f.ctx, tc.pod, c, 0)
			}
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHostNetworkHasNoAddresses(t *testing.T) {
	f := newFixture(t)
	pod := testPod(func(p *corev1.Pod) { p.Spec.HostNetwork = true })
	sb, err := f.r.RunPodSandbox(f.ctx, pod)
	if err != nil || len(sb.IPs) != 0 {
		t.Errorf("RunPodSandbox = %+v, %v; want no addresses", sb, err)
	}
}
