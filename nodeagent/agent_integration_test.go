package nodeagent_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// agentRun is one running agent; stop ends it and waits until it returned.
type agentRun struct {
	stop func()
}

func newRuntime(t *testing.T, node nodeagent.NodeConfig) runtime.Runtime {
	t.Helper()
	rt, err := simulated.New(simulated.Config{PodCIDRs: node.PodCIDRs})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// startAgent starts an agent that runs until stop or until owner ends.
func startAgent(t, owner *testing.T, client kubernetes.Interface, node nodeagent.NodeConfig, rt runtime.Runtime) agentRun {
	t.Helper()
	a, err := nodeagent.New(nodeagent.Config{Node: node, Client: client, Runtime: rt, RestartBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := a.Run(ctx)
		if ctx.Err() == nil {
			t.Errorf("agent stopped by itself: %v", err)
		}
		done <- err
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
	owner.Cleanup(stop)
	return agentRun{stop: stop}
}

func waitPod(t *testing.T, c kubernetes.Interface, ns, name, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return ok(p), nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s never %s; last status: %+v", ns, name, what, last.Status)
	}
	return last
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// resync changes the pod's spec (a new activeDeadlineSeconds) and waits
// until the agent reported the new generation, so that the pod was surely
// synced since.
func resync(t *testing.T, c kubernetes.Interface, name string, deadline int64) *corev1.Pod {
	t.Helper()
	p, err := c.CoreV1().Pods("agent").Patch(context.Background(), name, "application/merge-patch+json",
		[]byte(fmt.Sprintf(`{"spec":{"activeDeadlineSeconds":%d}}`, deadline)), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gen := p.Generation
	return waitPod(t, c, "agent", name, "synced", func(p *corev1.Pod) bool {
		return p.Status.ObservedGeneration >= gen && podReady(p)
	})
}

func newPod(name, node string, containers ...corev1.Container) *corev1.Pod {
	if len(containers) == 0 {
		containers = []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{NodeName: node, Containers: containers},
	}
}

func TestAgent(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client
	ctx := context.Background()
	node := nodeagent.SimulatedNodeConfig("sim-a", 0, false)
	node.Capacity[corev1.ResourceCPU] = resource.MustParse("4")
	rt := newRuntime(t, node)
	run := startAgent(t, t, c, node, rt)
	owner := t
	s.CreateNamespace(t, "agent")

	t.Run("pod goes Running and Ready", func(t *testing.T) {
		pod := newPod("web", node.Name)
		pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}}}
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p := waitPod(t, c, "agent", "web", "Ready", podReady)
		t.Logf("Running and Ready after %v", time.Since(start))
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Status.HostIP == "" || p.Status.StartTime == nil {
			t.Errorf("status: %+v", p.Status)
		}
		cs := p.Status.ContainerStatuses[0]
		if !strings.HasPrefix(cs.ContainerID, "simulated://") || cs.State.Running == nil || !cs.Ready || cs.Started == nil || !*cs.Started {
			t.Errorf("container status: %+v", cs)
		}
		for _, want := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
			found := false
			for _, cond := range p.Status.Conditions {
				found = found || (cond.Type == want && cond.Status == corev1.ConditionTrue)
			}
			if !found {
				t.Errorf("condition %s not True: %+v", want, p.Status.Conditions)
			}
		}
	})

	t.Run("deleted pod terminates gracefully", func(t *testing.T) {
		if _, err := c.CoreV1().Pods("agent").Create(ctx, newPod("doomed", node.Name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPod(t, c, "agent", "doomed", "Ready", podReady)
		if err := c.CoreV1().Pods("agent").Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The API server keeps the pod, with its deletionTimestamp, until the
		// agent has stopped it and confirmed.
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Pods("agent").Get(ctx, "doomed", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatal("deleted pod still there after 30s")
		}
	})

	t.Run("failing init container fails a restartPolicy Never pod", func(t *testing.T) {
		pod := newPod("init-fails", node.Name)
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		pod.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox", Command: []string{"/bin/false"}}}
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := waitPod(t, c, "agent", "init-fails", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		ics := p.Status.InitContainerStatuses[0]
		if ics.State.Terminated == nil || ics.State.Terminated.ExitCode != 1 || ics.State.Terminated.Reason != "Error" {
			t.Errorf("init container status: %+v", ics)
		}
		if cs := p.Status.ContainerStatuses[0]; cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" {
			t.Errorf("app container status: %+v", cs)
		}
	})

	t.Run("container that exits restarts with back-off", func(t *testing.T) {
		pod := newPod("crasher", node.Name, corev1.Container{Name: "app", Image: "busybox", Command: []string{"sh", "-c", "exit 3"}})
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := waitPod(t, c, "agent", "crasher", "restarted twice", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 2
		})
		cs := p.Status.ContainerStatuses[0]
		if cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 3 {
			t.Errorf("lastState: %+v", cs.LastTerminationState)
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("phase %s, want Running while it restarts", p.Status.Phase)
		}
	})

	t.Run("rejected when out of cpu", func(t *testing.T) {
		pod := newPod("greedy", node.Name)
		pod.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64")}
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := waitPod(t, c, "agent", "greedy", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if p.Status.Reason != "OutOfcpu" || !strings.HasPrefix(p.Status.Message, "Pod was rejected: Node didn't have enough resource: cpu, requested: 64000") {
			t.Errorf("reason %q message %q", p.Status.Reason, p.Status.Message)
		}
	})

	t.Run("job pod succeeds", func(t *testing.T) {
		pod := newPod("once", node.Name, corev1.Container{Name: "app", Image: "busybox", Command: []string{"sh", "-c", "exit 0"}})
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := waitPod(t, c, "agent", "once", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if cs := p.Status.ContainerStatuses[0]; cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" {
			t.Errorf("container status: %+v", cs)
		}
	})

	t.Run("active deadline fails the pod", func(t *testing.T) {
		pod := newPod("deadline", node.Name)
		pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := waitPod(t, c, "agent", "deadline", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if p.Status.Reason != "DeadlineExceeded" {
			t.Errorf("reason %q", p.Status.Reason)
		}
	})

	t.Run("restarted agent keeps its pods", func(t *testing.T) {
		before := waitPod(t, c, "agent", "web", "Ready", podReady)
		run.stop()
		run = startAgent(t, owner, c, node, rt)
		after := resync(t, c, "web", 100000)
		b, a := before.Status.ContainerStatuses[0], after.Status.ContainerStatuses[0]
		if a.ContainerID != b.ContainerID || a.RestartCount != b.RestartCount || !a.State.Running.StartedAt.Equal(&b.State.Running.StartedAt) {
			t.Errorf("container restarted: before %+v after %+v", b, a)
		}
	})

	t.Run("restarted process keeps its simulated pods", func(t *testing.T) {
		before := waitPod(t, c, "agent", "web", "Ready", podReady)
		run.stop()
		// A new runtime: what a restarted process has.
		run = startAgent(t, owner, c, node, newRuntime(t, node))
		after := resync(t, c, "web", 90000)
		b, a := before.Status.ContainerStatuses[0], after.Status.ContainerStatuses[0]
		if a.ContainerID != b.ContainerID || a.RestartCount != b.RestartCount || after.Status.PodIP != before.Status.PodIP ||
			a.State.Running == nil || !a.State.Running.StartedAt.Equal(&b.State.Running.StartedAt) {
			t.Errorf("pod restarted: before %+v %s after %+v %s", b, before.Status.PodIP, a, after.Status.PodIP)
		}
	})

	t.Run("failing readiness keeps a running pod unready", func(t *testing.T) {
		pod := newPod("unready", node.Name)
		pod.Annotations = map[string]string{simulated.AnnotationPrefix + "app": "readiness=Failure"}
		pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
			Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := waitPod(t, c, "agent", "unready", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		time.Sleep(1500 * time.Millisecond)
		p = waitPod(t, c, "agent", "unready", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		if podReady(p) || p.Status.ContainerStatuses[0].Ready {
			t.Errorf("pod Ready despite failing readiness probe: %+v", p.Status)
		}
	})

	t.Run("sidecar runs beside the app", func(t *testing.T) {
		pod := newPod("with-sidecar", node.Name)
		always := corev1.ContainerRestartPolicyAlways
		pod.Spec.InitContainers = []corev1.Container{
			{Name: "setup", Image: "busybox"},
			{Name: "proxy", Image: "envoy", RestartPolicy: &always},
		}
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := waitPod(t, c, "agent", "with-sidecar", "Ready", podReady)
		setup, proxy := p.Status.InitContainerStatuses[0], p.Status.InitContainerStatuses[1]
		if setup.State.Terminated == nil || setup.State.Terminated.ExitCode != 0 {
			t.Errorf("init container: %+v", setup)
		}
		if proxy.State.Running == nil || !proxy.Ready {
			t.Errorf("sidecar: %+v", proxy)
		}
	})
}
