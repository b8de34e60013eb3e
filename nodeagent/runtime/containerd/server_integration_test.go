package containerd_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
)

// TestServerLocalNode: `kubelite server --local-node=containerd` runs pods
// in real containers: a pod goes Running and Ready (exec readiness probe)
// with a containerd:// container ID and the image's digest, and its log says
// it ran; a failing pod ends Failed with its exit code; deleted pods leave
// nothing in containerd. The images come from <data-dir>/images.
func TestServerLocalNode(t *testing.T) {
	if daemon == nil {
		t.Skip(skipReason)
	}
	s, dir := startLocalNodeServer(t, "kl-srv-")
	s.CreateNamespace(t, "ctd")
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods("ctd")

	running := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "running"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Image: testImage,
			Command:        []string{"sh", "-c", `trap "exit 0" TERM; echo started in $(hostname); sleep 3600 & wait`},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1},
		}}},
	}
	created := time.Now()
	if _, err := pods.Create(ctx, running, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitFor(t, s, "running", "Ready", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	t.Logf("pod Ready %v after creation", time.Since(created))
	cs := p.Status.ContainerStatuses[0]
	if !strings.HasPrefix(cs.ContainerID, "containerd://") || !strings.HasPrefix(cs.ImageID, "registry.k8s.io/e2e-test-images/busybox@sha256:") || cs.State.Running == nil {
		t.Errorf("container status %+v, want a running containerd container of the busybox image", cs)
	}
	logFile := filepath.Join(dir, "pods", string(p.UID), "logs", "main", "0.log")
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), " stdout F started in running\n") {
		t.Errorf("log %s = %q, want the container's greeting", logFile, b)
	}

	failing := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "failing"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "main", Image: testImage, Command: []string{"sh", "-c", "exit 3"},
		}}},
	}
	if _, err := pods.Create(ctx, failing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p = waitFor(t, s, "failing", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Errorf("failing pod's container %+v, want terminated with 3, Error", p.Status.ContainerStatuses[0].State)
	}

	for _, name := range []string{"running", "failing"} {
		if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := pods.List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) > 0 {
			return false, nil
		}
		left, _ := os.ReadDir(filepath.Join(dir, "pods"))
		for _, e := range left {
			if !strings.HasPrefix(e.Name(), ".") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Errorf("deleted pods did not go, with their files: %v", err)
	}
}

func waitFor(t *testing.T, s *testserver.Server, name, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := s.Client.CoreV1().Pods("ctd").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return ok(p), nil
	})
	if err != nil {
		t.Fatalf("pod %s never %s; last status %+v", name, what, last.Status)
	}
	return last
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// startLocalNodeServer starts `kubelite server --local-node=containerd` on a
// data dir of its own (named with prefix: short, as the socket path is
// limited) whose images/ holds the busybox archive; the dir, and what is
// mounted under it, goes with the test.
func startLocalNodeServer(t testing.TB, prefix string) (*testserver.Server, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	// After the server stopped (cleanups run last first): containers outlive
	// the server and its containerd, for the next start to adopt, so a
	// containerd on the same dir kills them before the dir goes.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if d, err := containerd.StartDaemon(ctx, containerd.DaemonConfig{Dir: filepath.Join(dir, "containerd")}); err == nil {
			killTasks(d.Address, containerd.DefaultNamespace)
			d.Close()
		}
		_ = exec.Command("sh", "-c", "grep -o ' "+dir+"[^ ]*' /proc/self/mounts | sort -r | xargs -r umount -l").Run()
		os.RemoveAll(dir)
	})
	copyFile(t, imageArchive(t), filepath.Join(dir, "images", "busybox.tar"))
	return testserver.StartWith(t, app.ServerConfig{DataDir: dir, LocalNode: "containerd"}), dir
}
