package containerd_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// TestLifecycleHooks: a postStart exec hook runs in the started container;
// a failing one kills it and fails the start as a HookError; a preStop
// httpGet hook reaches the container before it is stopped.
func TestLifecycleHooks(t *testing.T) {
	r, dir := newRuntimeDir(t)
	pod := testPod("hooks", corev1.Container{Name: "main",
		// The marker is printed once nc listens on 8080 (0x1F90), so the
		// preStop request below cannot arrive before it.
		Command:   []string{"sh", "-c", `sleep 3600 | nc -l -p 8080 & until [ -f /tmp/started ] && grep -qs ':1F90 ' /proc/net/tcp /proc/net/tcp6; do sleep 0.05; done; echo "poststart=$(cat /tmp/started)"; wait`},
		Lifecycle: &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo yes > /tmp/started"}}}}})
	pod.Spec.Containers[0].Lifecycle.PreStop = &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/prestop", Port: intstr.FromInt32(8080)}}
	ids := run(t, r, pod)
	waitLog(t, dir, pod, "stdout poststart=yes")
	if err := r.StopContainer(t.Context(), pod, ids[0], time.Second); err != nil {
		t.Fatal(err)
	}
	waitExited(t, r, pod.UID, ids[0])
	if got := logLines(t, dir, pod, "main"); !slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "stdout GET /prestop HTTP/1.1") }) {
		t.Errorf("log %q, want the preStop hook's request", got)
	}

	failing := testPod("hook-fails", corev1.Container{Name: "main", Command: []string{"sleep", "3600"},
		Lifecycle: &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo no; exit 3"}}}}})
	if _, err := r.RunPodSandbox(t.Context(), failing); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.StopPod(t.Context(), failing.UID, 0)
		_ = r.RemovePod(t.Context(), failing.UID)
	})
	_, err := r.StartContainer(t.Context(), failing, &failing.Spec.Containers[0], 0)
	var he *runtime.HookError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "exited with 3") {
		t.Fatalf("StartContainer with a failing postStart hook = %v, want a HookError", err)
	}
	s, _ := r.PodStatus(t.Context(), failing.UID)
	if len(s.Containers) != 1 || s.Containers[0].State != runtime.StateExited {
		t.Errorf("containers %+v, want the one killed", s.Containers)
	}
}

// agnhostImage serves gRPC health checks (grpc-health-checking).
const agnhostImage = "registry.k8s.io/e2e-test-images/agnhost:2.55"

// TestGRPCProbe: a gRPC probe passes against a serving health service and
// fails against a port where none listens.
func TestGRPCProbe(t *testing.T) {
	r, _ := newRuntimeDir(t)
	if _, err := r.ImportArchive(t.Context(), strings.Replace(imageArchive(t), "busybox-1.37.0-2.tar", "agnhost-2.55.tar", 1)); err != nil {
		t.Fatal(err)
	}
	pod := testPod("grpc", corev1.Container{Name: "main", Image: agnhostImage, Args: []string{"grpc-health-checking", "--port=5000", "--http-port=8080"}})
	ids := run(t, r, pod)
	probe := func(port int32) (runtime.ProbeResult, string) {
		res, msg, err := r.Probe(t.Context(), pod, ids[0], &corev1.Probe{TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: port, Service: ptr.To("")}}})
		if err != nil {
			t.Fatal(err)
		}
		return res, msg
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, msg := probe(5000)
		if res == runtime.ProbeSuccess {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gRPC probe never passed: %s", msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res, _ := probe(5001); res != runtime.ProbeFailure {
		t.Errorf("gRPC probe on a closed port = %v, want failure", res)
	}
}
