package containerd_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	ctdclient "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
	"github.com/kubelite/kubelite/nodeagent/runtime/suite"
)

// testImage is the image the tests run, from `make images`.
const testImage = "registry.k8s.io/e2e-test-images/busybox:1.37.0-2"

// daemon is the containerd the package's tests share, started by TestMain;
// nil (with skipReason) where none can run.
var (
	daemon     *containerd.Daemon
	daemonDir  string
	skipReason string
)

func TestMain(m *testing.M) {
	code := func() int {
		if os.Geteuid() != 0 {
			skipReason = "containerd tests need root"
			return m.Run()
		}
		// A short path: unix socket paths are limited to 108 bytes.
		dir, err := os.MkdirTemp("", "kl-ctd-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		d, err := containerd.StartDaemon(ctx, containerd.DaemonConfig{Dir: filepath.Join(dir, "containerd"), Install: true})
		if err != nil {
			skipReason = fmt.Sprintf("cannot run containerd: %v", err)
			return m.Run()
		}
		daemon, daemonDir = d, dir
		defer func() {
			killLeftovers(d.Address)
			d.Close()
			for i := 1; i <= podDirs; i++ {
				dirs, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/*/%s%d", nsPrefix, i))
				for _, d := range dirs {
					_ = os.Remove(d)
				}
			}
			// What the daemon mounted under dir (snapshots, namespaces) goes
			// before dir does.
			_ = exec.Command("sh", "-c", "grep -o ' "+dir+"[^ ]*' /proc/self/mounts | sort -r | xargs -r umount -l").Run()
		}()
		return m.Run()
	}()
	os.Exit(code)
}

// imageArchive is the busybox test image's archive from `make images`.
func imageArchive(t testing.TB) string {
	dir := os.Getenv("KUBELITE_IMAGES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", ".cache", "images")
	}
	path := filepath.Join(dir, "busybox-1.37.0-2.tar")
	if _, err := os.Stat(path); err != nil {
		if _, bench := t.(*testing.B); bench {
			t.Skipf("test image %s: %v; build it with `make images`", path, err)
		}
		t.Fatalf("test image %s: %v; build it with `make images`", path, err)
	}
	return path
}

var podDirs int

// nsPrefix starts the containerd namespaces of this test process. Each
// namespace leaves an empty cgroup /<namespace> (runc puts containers in
// /<namespace>/<id>), which TestMain removes.
var nsPrefix = fmt.Sprintf("kltest%d-", os.Getpid())

// newConfig returns a runtime configuration on the shared daemon with a
// containerd namespace and pod directory of its own.
func newConfig(t testing.TB) containerd.Config {
	t.Helper()
	if daemon == nil {
		t.Skip(skipReason)
	}
	podDirs++
	ns := fmt.Sprintf("%s%d", nsPrefix, podDirs)
	return containerd.Config{Address: daemon.Address, Dir: filepath.Join(daemonDir, ns), Namespace: ns, PodCIDRs: []string{"10.250.0.0/24"}}
}

// newRuntimeDir returns a runtime from newConfig holding the test image,
// and its pod directory.
func newRuntimeDir(t testing.TB) (*containerd.Runtime, string) {
	t.Helper()
	cfg := newConfig(t)
	r, err := containerd.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := r.ImportArchive(t.Context(), imageArchive(t)); err != nil {
		t.Fatalf("import: %v", err)
	}
	return r, cfg.Dir
}

func TestConformance(t *testing.T) {
	suite.Run(t, func(t *testing.T) runtime.Runtime { r, _ := newRuntimeDir(t); return r }, suite.Options{
		Image: testImage,
		// `sleep` as PID 1 ignores SIGTERM (the kernel drops signals PID 1
		// has no handler for), so the suite's default waits out every grace.
		Running: func(_ *corev1.Pod, name string) corev1.Container {
			return corev1.Container{Name: name, Image: testImage, Command: []string{"sh", "-c", `trap "exit 0" TERM; sleep 3600 & wait`}}
		},
	})
}

// killLeftovers kills the tasks a failed test left in the test namespaces,
// so that no container outlives the test process.
func killLeftovers(address string) {
	var nss []string
	for i := 1; i <= podDirs; i++ {
		nss = append(nss, fmt.Sprintf("%s%d", nsPrefix, i))
	}
	killTasks(address, nss...)
}

// killTasks kills the tasks of the containerd at address in namespaces.
func killTasks(address string, nss ...string) {
	client, err := ctdclient.New(address)
	if err != nil {
		return
	}
	defer client.Close()
	for _, ns := range nss {
		ctx := namespaces.WithNamespace(context.Background(), ns)
		list, _ := client.Containers(ctx)
		for _, c := range list {
			if task, err := c.Task(ctx, nil); err == nil {
				fmt.Fprintf(os.Stderr, "killing container %s left running\n", c.ID())
				_, _ = task.Delete(ctx, ctdclient.WithProcessKill)
			}
		}
	}
}
