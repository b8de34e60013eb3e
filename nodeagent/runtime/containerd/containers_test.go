package containerd_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
)

func testPod(name string, containers ...corev1.Container) *corev1.Pod {
	for i := range containers {
		if containers[i].Image == "" {
			containers[i].Image = testImage
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uuid.NewUUID()},
		Spec:       corev1.PodSpec{Containers: containers, RestartPolicy: corev1.RestartPolicyNever},
	}
}

// run runs pod's sandbox and its containers and returns their IDs.
func run(t *testing.T, r runtime.Runtime, pod *corev1.Pod) []string {
	t.Helper()
	if _, err := r.RunPodSandbox(t.Context(), pod); err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	var ids []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if _, err := r.PullImage(t.Context(), pod, c); err != nil {
			t.Fatalf("PullImage: %v", err)
		}
		id, err := r.StartContainer(t.Context(), pod, c, 0)
		if err != nil {
			t.Fatalf("StartContainer %s: %v", c.Name, err)
		}
		ids = append(ids, id)
	}
	t.Cleanup(func() { // t.Context() is done by now
		_ = r.StopPod(context.Background(), pod.UID, 0)
		_ = r.RemovePod(context.Background(), pod.UID)
	})
	return ids
}

// waitExited waits for container id of pod uid to exit and returns it.
func waitExited(t *testing.T, r runtime.Runtime, uid types.UID, id string) runtime.Container {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s, err := r.PodStatus(t.Context(), uid)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range s.Containers {
			if c.ID == id && c.State == runtime.StateExited {
				return c
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("container %s did not exit", id)
	return runtime.Container{}
}

// logLines returns the content of the CRI log of attempt 0 of container
// name, checking every line's format.
func logLines(t *testing.T, dir string, pod *corev1.Pod, name string) []string {
	t.Helper()
	b, err := os.ReadFile(dir + "/" + string(pod.UID) + "/logs/" + name + "/0.log")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^(\S+) (stdout|stderr) (F|P) (.*)$`)
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("log line %q is not in the CRI format", l)
		}
		if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Errorf("log line %q: time: %v", l, err)
		}
		out = append(out, m[2]+" "+m[4])
	}
	return out
}

// TestContainerEnvironment checks what a container sees: its command line
// with $(VAR) expanded, env (values and pod fields), working directory,
// hostname, /etc/hosts with the pod's address, and its output in the log.
func TestContainerEnvironment(t *testing.T) {
	r, dir := newRuntimeDir(t)
	pod := testPod("env-pod", corev1.Container{
		Name:       "main",
		Command:    []string{"sh", "-c"},
		Args:       []string{`echo "greeting=$GREETING arg=$(GREETING) pod=$POD_NAME"; pwd; hostname; grep env-pod /etc/hosts; echo oops >&2; printf tail`},
		WorkingDir: "/tmp",
		Env: []corev1.EnvVar{
			{Name: "GREETING", Value: "hello"},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		},
	})
	ids := run(t, r, pod)
	c := waitExited(t, r, pod.UID, ids[0])
	if c.ExitCode != 0 || c.Reason != "Completed" {
		t.Errorf("exited %d %q, want 0 Completed", c.ExitCode, c.Reason)
	}
	s, _ := r.PodStatus(t.Context(), pod.UID)
	// Each stream keeps its order; how stdout and stderr lines interleave
	// depends on which pipe is read first, so the lines are compared
	// stream by stream (a stable sort by stream name).
	byStream := func(lines []string) string {
		slices.SortStableFunc(lines, func(a, b string) int {
			return strings.Compare(strings.Fields(a)[0], strings.Fields(b)[0])
		})
		return strings.Join(lines, "\n")
	}
	got := byStream(logLines(t, dir, pod, "main"))
	want := byStream([]string{
		"stdout greeting=hello arg=hello pod=env-pod",
		"stdout /tmp",
		"stdout env-pod",
		"stdout " + s.Sandbox.IPs[0] + "\tenv-pod",
		"stderr oops",
		"stdout tail",
	})
	if got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

// TestOOMKilled: a container over its memory limit is killed and reported
// as OOMKilled.
func TestOOMKilled(t *testing.T) {
	r, _ := newRuntimeDir(t)
	pod := testPod("oom", corev1.Container{
		Name:      "hog",
		Command:   []string{"sh", "-c", `x=0123456789; while :; do x="$x$x"; done`},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}},
	})
	ids := run(t, r, pod)
	c := waitExited(t, r, pod.UID, ids[0])
	if c.Reason != "OOMKilled" || c.ExitCode != 137 {
		t.Errorf("exited %d %q, want 137 OOMKilled", c.ExitCode, c.Reason)
	}
}

// TestAdopt: a new runtime on the same containerd namespace and directory
// finds the pods of the old one, with a running container it can stop and
// whose output it still logs.
func TestAdopt(t *testing.T) {
	cfg := newConfig(t)
	first, err := containerd.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.ImportArchive(t.Context(), imageArchive(t)); err != nil {
		t.Fatal(err)
	}
	pod := testPod("adopt", corev1.Container{Name: "main", Command: []string{"sh", "-c", `trap "echo bye; exit 3" TERM; echo hi; sleep 3600 & wait`}})
	ids := run(t, first, pod)
	waitLog(t, cfg.Dir, pod, "stdout hi")
	before, _ := first.PodStatus(t.Context(), pod.UID)
	first.Close()

	second, err := containerd.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	after, err := second.PodStatus(t.Context(), pod.UID)
	if err != nil || after == nil {
		t.Fatalf("PodStatus after restart = %v, %v; want the pod", after, err)
	}
	if after.Name != "adopt" || after.Sandbox == nil || after.Sandbox.ID != before.Sandbox.ID || !after.Sandbox.Ready ||
		strings.Join(after.Sandbox.IPs, ",") != strings.Join(before.Sandbox.IPs, ",") {
		t.Errorf("sandbox after restart %+v, want %+v", after.Sandbox, before.Sandbox)
	}
	if len(after.Containers) != 1 || after.Containers[0].State != runtime.StateRunning ||
		after.Containers[0].StartedAt.Sub(before.Containers[0].StartedAt).Abs() > time.Millisecond {
		t.Fatalf("containers after restart %+v, want %+v", after.Containers, before.Containers)
	}
	if err := second.StopContainer(t.Context(), pod, ids[0], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	c := waitExited(t, second, pod.UID, ids[0])
	if c.ExitCode != 3 || c.Reason != "Error" {
		t.Errorf("exited %d %q, want 3 Error", c.ExitCode, c.Reason)
	}
	if got := logLines(t, cfg.Dir, pod, "main"); strings.Join(got, ",") != "stdout hi,stdout bye" {
		t.Errorf("log %q, want hi then bye", got)
	}
	// The address stays taken: a new sandbox gets another.
	other := testPod("other")
	sb, err := second.RunPodSandbox(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = second.StopPod(context.Background(), other.UID, 0)
		_ = second.RemovePod(context.Background(), other.UID)
	})
	if sb.IPs[0] == before.Sandbox.IPs[0] {
		t.Errorf("a new sandbox got the adopted pod's address %s", sb.IPs[0])
	}
	if err := second.StopPod(t.Context(), pod.UID, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := second.RemovePod(t.Context(), pod.UID); err != nil {
		t.Fatal(err)
	}
}

func waitLog(t *testing.T, dir string, pod *corev1.Pod, want string) {
	t.Helper()
	for range 500 {
		b, _ := os.ReadFile(dir + "/" + string(pod.UID) + "/logs/main/0.log")
		if strings.Contains(string(b), want[len("stdout "):]) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("log never said %q", want)
}

// TestPullPolicy: Never fails on a missing image with upstream's message
// and error, IfNotPresent and Never take a present one.
func TestPullPolicy(t *testing.T) {
	r, _ := newRuntimeDir(t)
	pod := testPod("pull")
	for _, tc := range []struct {
		image  string
		policy corev1.PullPolicy
		err    string
	}{
		{testImage, corev1.PullNever, ""},
		{testImage, corev1.PullIfNotPresent, ""},
		{"example.invalid/missing:1", corev1.PullNever, `Container image "example.invalid/missing:1" is not present with pull policy of Never`},
	} {
		ref, err := r.PullImage(t.Context(), pod, &corev1.Container{Name: "c", Image: tc.image, ImagePullPolicy: tc.policy})
		if tc.err == "" {
			if err != nil || !strings.HasPrefix(ref, "registry.k8s.io/e2e-test-images/busybox@sha256:") {
				t.Errorf("PullImage(%s, %s) = %q, %v; want the image's digest reference", tc.image, tc.policy, ref, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.err || !errors.Is(err, runtime.ErrImageNeverPull) {
			t.Errorf("PullImage(%s, %s) = %v, want ErrImageNeverPull %q", tc.image, tc.policy, err, tc.err)
		}
	}
}

// TestHostNetwork: a hostNetwork pod has the host's name and addresses.
func TestHostNetwork(t *testing.T) {
	r, dir := newRuntimeDir(t)
	pod := testPod("hostnet", corev1.Container{Name: "main", Command: []string{"sh", "-c", "hostname; cat /etc/hostname; ls /sys/class/net | grep -cv '^lo$'"}})
	pod.Spec.HostNetwork = true
	ids := run(t, r, pod)
	waitExited(t, r, pod.UID, ids[0])
	host, _ := os.Hostname()
	got := logLines(t, dir, pod, "main")
	if len(got) != 3 || got[0] != "stdout "+host || got[1] != "stdout "+host || got[2] == "stdout 0" {
		t.Errorf("log %q, want the host's name twice and its interfaces besides lo", got)
	}
	if s, _ := r.PodStatus(t.Context(), pod.UID); len(s.Sandbox.IPs) == 0 || s.Sandbox.IPs[0] == "10.250.0.2" {
		t.Errorf("hostNetwork sandbox addresses %v, want the host's", s.Sandbox.IPs)
	}
}
