package containerd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	ctdclient "github.com/containerd/containerd/v2/client"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
)

// The upstream node of BenchmarkPodStartupLatency: its name, its bridge and
// its pods' addresses (apart from those of kubelite's node agent).
const (
	kubeletNode   = "kubelet-bench"
	kubeletBridge = "klbench0"
	kubeletSubnet = "10.251.0.0/24"
	// pauseArchive is the sandbox image containerd's CRI plugin runs, from
	// `make images`.
	pauseArchive = "pause-3.10.2.tar"
	pauseImage   = "registry.k8s.io/pause:3.10.2"
)

// kubeletBin is upstream's kubelet, built by `conformance/tools/build.sh
// kubelet` into the binary cache ($KUBELET_BIN overrides).
func kubeletBin() string {
	if p := os.Getenv("KUBELET_BIN"); p != "" {
		return p
	}
	dir := os.Getenv("KUBELITE_CACHE")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", ".cache", "bin")
	}
	p, _ := filepath.Abs(filepath.Join(dir, "kubelet"))
	return p
}

// startKubelet makes upstream's kubelet the one node of s, as a cluster
// built with kubeadm would run it, on what kubelite's node agent runs on:
//
//   - a containerd of its own, the same binary as the agent's, with the CRI
//     plugin the kubelet talks to (the agent's containerd has it off), its
//     sandbox image and busybox imported from `make images`, and a pod
//     network of the same CNI plugins of `make cni` set up as the agent
//     sets up its own (bridge and host-local, then portmap);
//   - the kubelet's defaults but for what this machine needs: cgroup v1
//     allowed, swap allowed, the cgroupfs driver (containerd's default),
//     eviction thresholds that a busy disk does not cross, and the same
//     cluster DNS address as the agent's pods get.
//
// containerd's CRI plugin is told not to lower a container's OOM score
// below its own (restrict_oom_score_adj, as for rootless containerd): root
// here lacks CAP_SYS_RESOURCE, so runc cannot set the pause container's
// -998. kubelite's agent sets no score at all.
//
// It returns the kubelet's pods directory. The kubelet, containerd, their
// containers, mounts, bridge and cgroups go when b ends.
func startKubelet(b *testing.B, s *testserver.Server) string {
	b.Helper()
	kubelet := kubeletBin()
	if _, err := os.Stat(kubelet); err != nil {
		b.Skipf("no upstream kubelet (conformance/tools/build.sh kubelet): %v", err)
	}
	ctdBin, err := containerd.EnsureInstalled(b.Context(), false)
	if err != nil {
		b.Skip(err)
	}
	ctr := filepath.Join(filepath.Dir(ctdBin), "ctr")
	if _, err := os.Stat(ctr); err != nil {
		b.Skipf("no ctr beside %s: %v", ctdBin, err)
	}
	busybox := imageArchive(b)
	pause := filepath.Join(filepath.Dir(busybox), pauseArchive)
	if _, err := os.Stat(pause); err != nil {
		b.Skipf("sandbox image %s: %v; build it with `make images`", pause, err)
	}
	cniBin := cniBinDir(b)
	if _, err := os.Stat(filepath.Join(cniBin, "loopback")); err != nil {
		b.Skipf("CNI plugins: %v; build them with `make cni`", err)
	}

	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "kl-kubelet-")
	if err != nil {
		b.Fatal(err)
	}
	// containerd's CRI plugin keeps each sandbox's network namespace as
	// /var/run/netns/cni-<uuid> until the sandbox stops; those of sandboxes
	// still there at the end go with it.
	netnsBefore, _ := filepath.Glob("/var/run/netns/cni-*")
	b.Cleanup(func() {
		after, _ := filepath.Glob("/var/run/netns/cni-*")
		for _, ns := range after {
			if !slices.Contains(netnsBefore, ns) {
				_ = syscall.Unmount(ns, syscall.MNT_DETACH)
				_ = os.Remove(ns)
			}
		}
		_ = exec.Command("ip", "link", "del", kubeletBridge).Run()
		_ = exec.Command("sh", "-c", "grep -o ' "+dir+"[^ ]*' /proc/self/mounts | sort -r | xargs -r umount -l").Run()
		_ = os.RemoveAll(dir)
		removeCgroups("kubepods")
	})
	sock := filepath.Join(dir, "containerd.sock")
	write(b, filepath.Join(dir, "containerd.toml"), fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = %[3]q

[ttrpc]
  address = "%[3]s.ttrpc"

[debug]
  level = "warn"

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[5]q
    conf_dir = %[6]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, pauseImage, cniBin, filepath.Join(dir, "net.d")))
	write(b, filepath.Join(dir, "net.d", "10-bench.conflist"), fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "kubelet-bench",
  "plugins": [
    {
      "type": "bridge", "bridge": %q,
      "isGateway": true, "isDefaultGateway": true, "hairpinMode": true, "ipMasq": false,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q}
    },
    {"type": "portmap", "backend": "nftables", "snat": true, "capabilities": {"portMappings": true}}
  ]
}
`, kubeletBridge, kubeletSubnet, filepath.Join(dir, "ipam")))

	ctd := startProcess(b, filepath.Join(dir, "containerd.log"), ctdBin, "--config", filepath.Join(dir, "containerd.toml"))
	// Last cleanup before the files go: no container outlives the benchmark.
	b.Cleanup(func() {
		killTasks(sock, "k8s.io")
		ctd.stop()
	})
	if err := waitForContainerd(b.Context(), sock, ctd); err != nil {
		b.Fatalf("%v\n%s", err, tail(filepath.Join(dir, "containerd.log")))
	}
	for _, archive := range []string{pause, busybox} {
		if out, err := exec.Command(ctr, "--address", sock, "--namespace", "k8s.io", "images", "import", archive).CombinedOutput(); err != nil {
			b.Fatalf("ctr images import %s: %v\n%s", archive, err, out)
		}
	}

	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	write(b, filepath.Join(dir, "kubelet.yaml"), fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://%[1]s
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
port: %[2]d
readOnlyPort: 0
healthzPort: 0
clusterDNS: ["10.96.0.10"]
clusterDomain: cluster.local
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`, sock, port))
	kl := startProcess(b, filepath.Join(dir, "kubelet.log"), kubelet,
		"--config", filepath.Join(dir, "kubelet.yaml"), "--kubeconfig", s.Kubeconfig,
		"--root-dir", filepath.Join(dir, "kubelet"), "--cert-dir", filepath.Join(dir, "pki"),
		"--hostname-override", kubeletNode)
	// Stopped first (cleanups run last first), so that containerd's tasks
	// are killed after it can no longer restart them.
	b.Cleanup(func() {
		kl.stop()
		if b.Failed() {
			b.Logf("kubelet log:\n%s", tail(filepath.Join(dir, "kubelet.log")))
		}
	})
	return filepath.Join(dir, "kubelet", "pods")
}

// process is a child process of the benchmark, in its own process group.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startProcess(b *testing.B, logPath, bin string, args ...string) *process {
	b.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	p := &process{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	return p
}

// stop sends SIGTERM, and SIGKILL after 10 s.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitForContainerd waits up to a minute for the daemon p to answer on sock.
func waitForContainerd(ctx context.Context, sock string, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if c, err := ctdclient.New(sock, ctdclient.WithTimeout(time.Second)); err == nil {
			_, err = c.Version(ctx)
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("containerd exited: %v", p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("containerd did not answer on %s: %w", sock, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// removeCgroups removes the cgroup name of every v1 hierarchy and the v2
// one, deepest first; a cgroup with processes stays.
func removeCgroups(name string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	if _, err := os.Stat("/sys/fs/cgroup/" + name); err == nil {
		roots = append(roots, "/sys/fs/cgroup/"+name)
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	}
}

func write(b *testing.B, path, content string) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail is the last 40 lines of the file at path.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}
