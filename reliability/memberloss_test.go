package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubelite/kubelite/nodeagent/podnet/nettest"
)

// TestMemberLoss runs three servers on an embedded etcd cluster, each on a
// host of its own (network namespaces, as cmd/kubelite's multi-host tests
// do), and on a fourth host writers and an informer through a client that
// fails over between the servers. It kills the server of the etcd leader,
// which the client is connected to, with SIGKILL, and checks that:
//
//   - writes resume on the survivors; the longest time without an
//     acknowledged write from the kill on is the suite's member-loss
//     figure (an etcd election, the client's failover and the writes the
//     kill cut waiting for etcd's request timeout);
//   - every acknowledged write is there afterwards (durability), and
//     resourceVersions only grew;
//   - the informer, which reconnects to another server, ends equal to a
//     fresh list and never delivered an event twice or out of order.
//
// It starts three servers (a minute or more here), so only `make
// reliability` runs it; it needs root for the namespaces.
func TestMemberLoss(t *testing.T) {
	if !full() {
		t.Skip("starts three servers: in `make reliability` (KUBELITE_RELIABILITY=full)")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("no nsenter")
	}
	hosts := nettest.NewHosts(t, 4)
	root := t.TempDir()
	var servers []*nsServer
	for i, h := range hosts[:3] {
		servers = append(servers, &nsServer{t: t, host: h, dir: filepath.Join(root, fmt.Sprintf("server%d", i))})
	}
	clientHost := hosts[3]
	began := time.Now()
	servers[0].start("--cluster-init")
	token := strings.TrimSpace(servers[0].run("token", "create", "--server", "--kubeconfig", filepath.Join(servers[0].dir, "kubeconfig")))
	for _, s := range servers[1:] {
		s.start("--server", servers[0].url(), "--token", token)
	}
	t.Logf("three servers ready in %v", time.Since(began).Round(time.Millisecond))

	// The writers' client starts on the etcd leader's server.
	leader := leaderOf(t, servers)
	failover := &failoverDialer{host: clientHost, current: leader}
	for _, s := range servers {
		failover.addrs = append(failover.addrs, net.JoinHostPort(s.host.Addr.String(), "6443"))
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(servers[0].dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host = "https://" + failover.addrs[leader]
	cfg.TLSClientConfig.ServerName = "kubernetes" // every server's certificate names it
	cfg.Dial = failover.DialContext
	cfg.QPS, cfg.Burst = -1, 0
	cfg.Timeout = 30 * time.Second
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: killNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	watch := startWatchRecorder(t, ctx, kubernetes.NewForConfigOrDie(rest.CopyConfig(cfg)))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.write(t, ctx, client, w, stop)
		}()
	}

	time.Sleep(5 * time.Second)
	before := rec.acked.Load()
	if before == 0 {
		t.Fatal("no write acknowledged before the kill")
	}
	killed := time.Now()
	servers[leader].kill()
	rec.epoch.Add(1)
	time.Sleep(20 * time.Second)
	close(stop)
	wg.Wait()
	if rec.acked.Load() == before {
		t.Fatal("no write acknowledged after the kill")
	}
	outage := rec.longestOutage(killed)
	rec.checkFinished(t, ctx, client, 1)
	rec.checkOrder(t)
	lost, dup, _, _ := watch.check(t, ctx, client, rec)
	figure(t, "member-loss servers=3 killed=etcd-leader acknowledged-writes=%d unknown-outcome=%d lost=%d longest-write-outage=%v watch-events=%d watch-lost=%d watch-duplicated-or-out-of-order=%d",
		rec.acked.Load(), rec.unknown.Load(), rec.lost.Load(), outage.Round(time.Millisecond), watch.events.Load(), lost, dup)
}

// leaderOf asks the first server's etcd which member leads and returns
// that server's index.
func leaderOf(t *testing.T, servers []*nsServer) int {
	t.Helper()
	for range 50 {
		out := servers[0].run("etcd", "member", "list", "--data-dir", servers[0].dir)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 2 || f[len(f)-1] != "true" {
				continue
			}
			for i, s := range servers {
				if s.memberName() == f[1] {
					return i
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no etcd leader among the servers")
	return 0
}

// failoverDialer dials, from inside host's namespace, the first of addrs
// that answers, starting from the one that answered last: the client-side
// failover kubelite's agents have.
type failoverDialer struct {
	host  *nettest.Host
	addrs []string

	mu      sync.Mutex
	current int
}

func (f *failoverDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	f.mu.Lock()
	start := f.current
	f.mu.Unlock()
	var errs []error
	for i := range f.addrs {
		n := (start + i) % len(f.addrs)
		var conn net.Conn
		err := f.host.Do(func() (err error) {
			conn, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, f.addrs[n])
			return err
		})
		if err == nil {
			f.mu.Lock()
			f.current = n
			f.mu.Unlock()
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// nsServer is `kubelite server` on a host of its own.
type nsServer struct {
	t    *testing.T
	host *nettest.Host
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
}

func (s *nsServer) url() string {
	return "https://" + net.JoinHostPort(s.host.Addr.String(), "6443")
}

func (s *nsServer) command(args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + s.host.Path, "--", kubeliteBin(s.t)}, args...)...)
}

// run runs a kubelite command on the host and returns its output.
func (s *nsServer) run(args ...string) string {
	s.t.Helper()
	out, err := s.command(args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("kubelite %s on %s: %v: %s", strings.Join(args, " "), s.host.Name, err, out)
	}
	return string(out)
}

func (s *nsServer) memberName() string {
	data, err := os.ReadFile(filepath.Join(s.dir, "etcd-name"))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// start starts the server and waits until it is ready; the test's end
// kills it.
func (s *nsServer) start(extra ...string) {
	s.t.Helper()
	log, err := os.Create(s.dir + ".log")
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := s.command(append([]string{"server", "--data-dir", s.dir, "--advertise-address", s.host.Addr.String(), "--local-node="}, extra...)...)
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exit, ready := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if strings.Contains(sc.Text(), "kubelite is ready") {
				once.Do(func() { close(ready) })
			}
		}
		_ = cmd.Wait()
		log.Close()
		close(exit)
	}()
	s.mu.Lock()
	s.cmd, s.exit = cmd, exit
	s.mu.Unlock()
	s.t.Cleanup(s.kill)
	select {
	case <-ready:
	case <-exit:
		s.t.Fatalf("server on %s exited before it was ready\n%s", s.host.Name, s.logTail())
	case <-time.After(2 * time.Minute):
		s.t.Fatalf("server on %s not ready after two minutes\n%s", s.host.Name, s.logTail())
	}
}

// kill sends SIGKILL to the server (nsenter execs it: the same process)
// and waits for it to be gone.
func (s *nsServer) kill() {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exit
}

func (s *nsServer) logTail() string {
	data, _ := os.ReadFile(s.dir + ".log")
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}
