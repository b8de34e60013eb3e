package main

// Several servers on one embedded etcd cluster, each on a host of its own:
// network namespaces joined by veth links (nodeagent/podnet/nettest), with
// this test binary re-executed as `kubelite` in each (TestMain).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubelite/kubelite/nodeagent/podnet/nettest"
)

// TestMain runs kubelite's main instead of the tests when asked to: the
// multi-host tests start servers from this binary, so that they need no
// build of bin/kubelite.
func TestMain(m *testing.M) {
	if os.Getenv("KUBELITE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// haHost is one host of the test and the kubelite server it runs.
type haHost struct {
	*nettest.Host
	dir string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
}

// kubelite runs a kubelite command on the host and returns its output.
func (h *haHost) kubelite(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := h.command(args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (h *haHost) command(args ...string) *exec.Cmd {
	self, _ := os.Executable()
	cmd := exec.Command("nsenter", append([]string{"--net=" + h.Path, "--", self}, args...)...)
	cmd.Env = append(os.Environ(), "KUBELITE_TEST_MAIN=1")
	return cmd
}

// start starts `kubelite server` on the host with extra flags and waits
// until it says it is ready; it is killed when the test ends.
func (h *haHost) start(t *testing.T, extra ...string) {
	t.Helper()
	args := append([]string{"server", "--data-dir", h.dir, "--advertise-address", h.Addr.String(), "--local-node="}, extra...)
	cmd := h.command(args...)
	log, err := os.OpenFile(filepath.Join(h.dir+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		s := bufio.NewScanner(stdout)
		once := sync.Once{}
		for s.Scan() {
			fmt.Fprintln(log, s.Text())
			if strings.Contains(s.Text(), "kubelite is ready") {
				once.Do(func() { close(ready) })
			}
		}
		_, _ = io.Copy(log, stdout)
		done <- cmd.Wait()
		log.Close()
	}()
	h.mu.Lock()
	h.cmd, h.done = cmd, done
	h.mu.Unlock()
	t.Cleanup(func() { h.kill() })
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("server on %s stopped before it was ready: %v\n%s", h.Name, err, h.logTail())
	case <-time.After(90 * time.Second):
		t.Fatalf("server on %s not ready after 90 s\n%s", h.Name, h.logTail())
	}
}

// kill stops the server with SIGKILL, as a crash would.
func (h *haHost) kill() {
	h.signal(syscall.SIGKILL)
}

// signal sends sig to the server and waits for it to exit.
func (h *haHost) signal(sig syscall.Signal) error {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.cmd = nil
	h.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return <-done
	}
}

// exited waits for the server to exit on its own.
func (h *haHost) exited(t *testing.T, within time.Duration) error {
	t.Helper()
	h.mu.Lock()
	done := h.done
	h.mu.Unlock()
	select {
	case err := <-done:
		h.mu.Lock()
		h.cmd = nil
		h.mu.Unlock()
		return err
	case <-time.After(within):
		t.Fatalf("server on %s still runs after %v", h.Name, within)
		return nil
	}
}

func (h *haHost) logTail() string {
	data, _ := os.ReadFile(h.dir + ".log")
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// client is an admin client of the host's server, dialing from inside the
// host's namespace.
func (h *haHost) client(t *testing.T) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(h.dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	rc.Timeout = 10 * time.Second
	rc.WarningHandler = rest.NoWarnings{} // v1 Endpoints is deprecated: the test reads it all the same
	rc.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := h.Do(func() (err error) {
			c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	return kubernetes.NewForConfigOrDie(rc)
}

// members lists the etcd members through the host's server, by name.
func (h *haHost) members(t *testing.T) []string {
	t.Helper()
	out, err := h.kubelite(t, "etcd", "member", "list", "--data-dir", h.dir)
	if err != nil {
		t.Fatalf("etcd member list on %s: %v: %s", h.Name, err, out)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			names = append(names, f[1])
		}
	}
	return names
}

func memberNameOf(t *testing.T, h *haHost) string {
	data, err := os.ReadFile(filepath.Join(h.dir, "etcd-name"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func createConfigMap(ctx context.Context, c kubernetes.Interface, name string) error {
	_, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Data:       map[string]string{"written": name},
	}, metav1.CreateOptions{})
	return err
}

// eventuallyGet waits until the ConfigMap can be read through c.
func eventuallyGet(t *testing.T, ctx context.Context, c kubernetes.Interface, name string) {
	t.Helper()
	var last error
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := c.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
		last = err
		return err == nil && cm.Data["written"] == name, nil
	}); err != nil {
		t.Fatalf("ConfigMap %s not readable: %v (last error %v)", name, err, last)
	}
}

// TestServersFormCluster: three servers, each on a host of its own, form
// one cluster on embedded etcd; a write through one is read through
// another; the survivors serve writes when one is killed; members are
// removed; a snapshot taken on a survivor restores the objects it held.
func TestServersFormCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("no nsenter")
	}
	ctx := context.Background()
	root := t.TempDir()
	var hosts []*haHost
	for i, h := range nettest.NewHosts(t, 3) {
		hosts = append(hosts, &haHost{Host: h, dir: filepath.Join(root, fmt.Sprintf("server%d", i))})
	}
	h0, h1, h2 := hosts[0], hosts[1], hosts[2]

	h0.start(t, "--cluster-init")
	out, err := h0.kubelite(t, "token", "create", "--server", "--kubeconfig", filepath.Join(h0.dir, "kubeconfig"))
	if err != nil {
		t.Fatalf("token create --server: %v: %s", err, out)
	}
	token := strings.TrimSpace(out)
	first := "https://" + net.JoinHostPort(h0.Addr.String(), "6443")
	// An agent's token may not fetch the cluster's keys.
	out, err = h0.kubelite(t, "token", "create", "--kubeconfig", filepath.Join(h0.dir, "kubeconfig"))
	if err != nil {
		t.Fatalf("token create: %v: %s", err, out)
	}
	agentToken := strings.TrimSpace(out)
	bad := h2.command("server", "--data-dir", filepath.Join(root, "intruder"), "--advertise-address", h2.Addr.String(), "--local-node=", "--server", first, "--token", agentToken)
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "server token") {
		t.Errorf("a join with an agent's token: want a refusal, got %v: %s", err, out)
	}
	h1.start(t, "--server", first, "--token", token)
	h2.start(t, "--server", first, "--token", token)
	if got := h2.members(t); len(got) != 3 {
		t.Fatalf("etcd members after two joins: %v", got)
	}

	c0, c1, c2 := h0.client(t), h1.client(t), h2.client(t)
	// The kubernetes Service names every server, whichever one wrote last.
	waitAPIServerEndpoints(t, ctx, c0, 30*time.Second, h0, h1, h2)
	if err := createConfigMap(ctx, c0, "through-first"); err != nil {
		t.Fatal(err)
	}
	eventuallyGet(t, ctx, c2, "through-first")
	if err := createConfigMap(ctx, c2, "through-third"); err != nil {
		t.Fatal(err)
	}
	eventuallyGet(t, ctx, c1, "through-third")

	// An agent that knows the first two servers, on the third host.
	second := "https://" + net.JoinHostPort(h1.Addr.String(), "6443")
	agent := h2.command("agent", "--server", first+","+second, "--token", agentToken, "--runtime", "simulated",
		"--node-name", "sim-agent", "--data-dir", filepath.Join(root, "agent"))
	agentLog, err := os.Create(filepath.Join(root, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	agent.Stdout, agent.Stderr = agentLog, agentLog
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait(); agentLog.Close() })
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := c1.CoreV1().Nodes().Get(ctx, "sim-agent", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		data, _ := os.ReadFile(filepath.Join(root, "agent.log"))
		t.Fatalf("the agent's node is not Ready: %v\n%s", err, data)
	}

	// A crash of the first server: the survivors keep serving writes
	// once etcd has elected a leader among them.
	h0.kill()
	killed := time.Now()
	var last error
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		// A write in flight while etcd has no leader waits for etcd's
		// request timeout (7 s); give up on each after a second instead.
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		last = createConfigMap(ctx, c1, "after-crash")
		return last == nil || apierrors.IsAlreadyExists(last), nil
	}); err != nil {
		t.Fatalf("no write through a survivor after the crash: %v", last)
	}
	t.Logf("first write through a survivor %v after the crash", time.Since(killed).Round(time.Millisecond))
	eventuallyGet(t, ctx, c2, "after-crash")
	// The agent fails over to the second server: its node Lease is
	// renewed (every 10 s) after the crash.
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 40*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := c1.CoordinationV1().Leases("kube-node-lease").Get(ctx, "sim-agent", metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(killed.Add(time.Second)), nil
	}); err != nil {
		data, _ := os.ReadFile(filepath.Join(root, "agent.log"))
		t.Fatalf("the agent did not renew its node Lease after the crash of its first server: %v\n%s", err, data)
	}
	// The crashed server's lease expires (15 s): the survivors drop its address.
	waitAPIServerEndpoints(t, ctx, c1, time.Until(killed.Add(40*time.Second)), h1, h2)
	_ = agent.Process.Kill()
	if data, _ := os.ReadFile(filepath.Join(root, "agent.log")); !strings.Contains(string(data), "API server failover") {
		t.Errorf("the agent's log tells of no failover:\n%s", data)
	}

	// The lost server is removed from a survivor, the third leaves on its own.
	if out, err := h1.kubelite(t, "etcd", "member", "remove", memberNameOf(t, h0), "--data-dir", h1.dir); err != nil {
		t.Fatalf("etcd member remove: %v: %s", err, out)
	}
	if got := h1.members(t); len(got) != 2 {
		t.Fatalf("etcd members after removing the crashed one: %v", got)
	}
	if out, err := h2.kubelite(t, "server", "--remove", "--data-dir", h2.dir); err != nil {
		t.Fatalf("server --remove: %v: %s", err, out)
	} else {
		t.Logf("server --remove: %s", out)
	}
	if err := h2.exited(t, 30*time.Second); err == nil {
		t.Error("the removed server exited without an error")
	}
	if got := h1.members(t); len(got) != 1 || got[0] != memberNameOf(t, h1) {
		t.Fatalf("etcd members after server --remove: %v", got)
	}
	// A server that leaves takes its address out at once, not after the TTL.
	waitAPIServerEndpoints(t, ctx, c1, 5*time.Second, h1)
	// The removed server does not come back as a cluster of its own.
	out, err = h2.kubelite(t, "server", "--data-dir", h2.dir, "--advertise-address", h2.Addr.String(), "--local-node=")
	if err == nil || !strings.Contains(out, "join with --server") {
		t.Errorf("a start of the removed server: want a refusal, got %v: %s", err, out)
	}
	if err := createConfigMap(ctx, c1, "alone"); err != nil {
		t.Fatalf("write to the last server: %v", err)
	}

	// Snapshot and restore on the last server.
	snap := filepath.Join(root, "snap.db")
	if out, err := h1.kubelite(t, "etcd-snapshot", "save", snap, "--data-dir", h1.dir); err != nil {
		t.Fatalf("etcd-snapshot save: %v: %s", err, out)
	}
	if err := createConfigMap(ctx, c1, "after-snapshot"); err != nil {
		t.Fatal(err)
	}
	if err := h1.signal(syscall.SIGTERM); err != nil {
		t.Logf("server stopped: %v", err)
	}
	if err := os.Rename(filepath.Join(h1.dir, "etcd"), filepath.Join(h1.dir, "etcd.old")); err != nil {
		t.Fatal(err)
	}
	if out, err := h1.kubelite(t, "etcd-snapshot", "restore", snap, "--data-dir", h1.dir); err != nil {
		t.Fatalf("etcd-snapshot restore: %v: %s", err, out)
	}
	h1.start(t)
	c1 = h1.client(t)
	for _, name := range []string{"through-first", "through-third", "after-crash", "alone"} {
		eventuallyGet(t, ctx, c1, name)
	}
	if _, err := c1.CoreV1().ConfigMaps("default").Get(ctx, "after-snapshot", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a ConfigMap made after the snapshot, after the restore: want NotFound, got %v", err)
	}
	if err := createConfigMap(ctx, c1, "after-restore"); err != nil {
		t.Fatalf("write after the restore: %v", err)
	}
	// The restored server is a cluster of one that the others join again.
	if got := h1.members(t); len(got) != 1 {
		t.Errorf("etcd members after the restore: %v", got)
	}
}

// waitAPIServerEndpoints waits until the kubernetes Service's Endpoints and
// EndpointSlice, read through c, name exactly the hosts' addresses, sorted.
func waitAPIServerEndpoints(t *testing.T, ctx context.Context, c kubernetes.Interface, within time.Duration, hosts ...*haHost) {
	t.Helper()
	var want []string
	for _, h := range slices.SortedFunc(slices.Values(hosts), func(a, b *haHost) int { return a.Addr.Compare(b.Addr) }) {
		want = append(want, h.Addr.String())
	}
	var got, gotSlice []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, max(within, time.Second), true, func(ctx context.Context) (bool, error) {
		got, gotSlice = nil, nil
		if ep, err := c.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil {
			for _, s := range ep.Subsets {
				for _, a := range s.Addresses {
					got = append(got, a.IP)
				}
			}
		}
		if es, err := c.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil {
			for _, e := range es.Endpoints {
				gotSlice = append(gotSlice, e.Addresses...)
			}
		}
		return slices.Equal(got, want) && slices.Equal(gotSlice, want), nil
	})
	if err != nil {
		var logs strings.Builder
		for _, h := range hosts {
			data, _ := os.ReadFile(h.dir + ".log")
			for _, line := range strings.Split(string(data), "\n") {
				if strings.Contains(line, "endpoints") || strings.Contains(line, "lease") {
					fmt.Fprintf(&logs, "%s: %s\n", h.Addr, line)
				}
			}
		}
		t.Fatalf("the kubernetes Service's endpoints: Endpoints %v, EndpointSlice %v; want %v within %v\n%s", got, gotSlice, want, within, logs.String())
	}
	t.Logf("the kubernetes Service's endpoints are %v", want)
}
