package main

// Benchmarks of the built binary, as a user runs it: time from start to ready, memory
// once idle, and API throughput with client-go at high QPS. `make bench` builds
// bin/kubelite and runs them; KUBELITE_BIN names another binary.
//
// Where the upstream control plane is available (KUBE_APISERVER_BIN and ETCD_BIN,
// built by conformance/tools/build.sh), the same measurements run against upstream
// kube-apiserver on etcd in the same run, and each kubelite figure is also reported
// as a ratio to upstream's.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// cluster is a running API server under measurement.
type cluster struct {
	config *rest.Config
	// dataDir is a kubelite server's data dir (empty for upstream).
	dataDir string
	pids    []int
	stop    func()
}

// rssMiB sums the resident memory of the cluster's processes: all of it (VmRSS),
// and the anonymous part (RssAnon: heap, stacks, runtime), the rest being pages
// of the binaries and other mapped files.
func (c *cluster) rssMiB(b *testing.B) (total, anon float64) {
	var kb, anonKB int
	for _, pid := range c.pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			b.Fatalf("read status of %d: %v", pid, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			n, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "VmRSS:":
				kb += n
			case "RssAnon:":
				anonKB += n
			}
		}
	}
	return float64(kb) / 1024, float64(anonKB) / 1024
}

// dropCachedPages drops the page cache of the binaries about to be measured.
//
// How many pages of a binary an exec maps depends on how they came into the
// page cache: a binary just written by the linker sits in large folios, which
// page faults map whole, so it showed some 20 MiB more resident than the same
// binary read back from disk, and `make bench` relinks kubelite whenever the
// source changed while upstream's binaries are old. Every measured start
// therefore begins with its binaries read from disk, as after a reboot. Pages
// that other processes have mapped stay cached.
func dropCachedPages(b *testing.B, paths ...string) {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		// Pages not yet written back (a binary just linked) cannot be dropped.
		if err := f.Sync(); err != nil {
			b.Logf("sync %s: %v", p, err)
		}
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			b.Logf("drop cached pages of %s: %v", p, err)
		}
		f.Close()
	}
}

func kubeliteBin(b *testing.B) string {
	bin := os.Getenv("KUBELITE_BIN")
	if bin == "" {
		bin = "../../bin/kubelite"
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		b.Skipf("no kubelite binary at %s (run make build): %v", abs, err)
	}
	return abs
}

// startKubelite starts `kubelite server` on a fresh data dir and free ports,
// with the extra flags, and returns once it says it is ready, with the time
// that took.
func startKubelite(b *testing.B, bin string, extra ...string) (*cluster, time.Duration) {
	dir := b.TempDir()
	args := []string{"server", "--data-dir", dir, "--bind-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-client-port", "0", "--etcd-peer-port", "0",
		// The server alone: no local node (its default as root with
		// containerd); extra may ask for one.
		"--local-node="}
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = nil
	// KUBELITE_SERVER_LOG names a file that the servers' logs are
	// appended to; by default they are dropped.
	if p := os.Getenv("KUBELITE_SERVER_LOG"); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		cmd.Stderr = f
	}
	dropCachedPages(b, bin)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "kubelite is ready") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		b.Fatal("kubelite not ready after a minute")
	}
	took := time.Since(start)
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		b.Fatal(err)
	}
	c := &cluster{config: cfg, dataDir: dir, pids: []int{cmd.Process.Pid}, stop: func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}}
	b.Cleanup(c.stop)
	return c, took
}

// settleIdle is how long an idle cluster runs before its settled memory is
// read: long enough for a Go heap to grow to its collection goal from the
// housekeeping garbage of an idle server (it took ~2 min).
const settleIdle = 2 * time.Minute

// idleMemory collects a cluster's resident memory 3 s after ready (each
// iteration) and once settled (the first).
type idleMemory struct {
	n                       int
	rss, anon               float64
	settledRSS, settledAnon float64
}

func (m *idleMemory) sample(b *testing.B, c *cluster, settle bool) {
	start := time.Now()
	time.Sleep(3 * time.Second)
	r, a := c.rssMiB(b)
	m.n, m.rss, m.anon = m.n+1, m.rss+r, m.anon+a
	if settle {
		time.Sleep(settleIdle - time.Since(start))
		m.settledRSS, m.settledAnon = c.rssMiB(b)
	}
}

// report reports the means of the 3-s samples and the settled sample, and
// returns the RSS of each.
func (m *idleMemory) report(b *testing.B) (rss, settled float64) {
	rss = m.rss / float64(m.n)
	b.ReportMetric(rss, "MiB-RSS-idle")
	b.ReportMetric(m.anon/float64(m.n), "MiB-RSS-anon-idle")
	b.ReportMetric(m.settledRSS, "MiB-RSS-settled")
	b.ReportMetric(m.settledAnon, "MiB-RSS-anon-settled")
	return rss, m.settledRSS
}

// BenchmarkStartup measures the time from exec to ready on an empty data dir, and
// the resident memory 3 s later and after two idle minutes: the kubelite server
// alone (embedded etcd included; no local node, so no containerd, as
// startKubelite passes --local-node=) and, in the same run, upstream etcd plus
// kube-apiserver.
// kubelite's figures are also reported as ratios to upstream's (below 1 is
// better).
func BenchmarkStartup(b *testing.B) {
	var upReady, upRSS, upSettled float64
	b.Run("upstream", func(b *testing.B) {
		var total, api time.Duration
		var m idleMemory
		for i := 0; i < b.N; i++ {
			c, apiReady, all := startUpstream(b)
			total += all
			api += apiReady
			m.sample(b, c, i == 0)
			c.stop()
		}
		upReady = float64(total.Milliseconds()) / float64(b.N)
		upRSS, upSettled = m.report(b)
		b.ReportMetric(upReady, "ms-to-ready")
		b.ReportMetric(float64(api.Milliseconds())/float64(b.N), "ms-apiserver-to-ready")
		b.ReportMetric(0, "ns/op")
	})
	b.Run("kubelite", func(b *testing.B) {
		bin := kubeliteBin(b)
		var total time.Duration
		var m idleMemory
		for i := 0; i < b.N; i++ {
			c, took := startKubelite(b, bin)
			total += took
			m.sample(b, c, i == 0)
			c.stop()
		}
		ready := float64(total.Milliseconds()) / float64(b.N)
		mem, settled := m.report(b)
		b.ReportMetric(ready, "ms-to-ready")
		if upReady > 0 {
			b.ReportMetric(ready/upReady, "ready-time-vs-upstream")
			b.ReportMetric(mem/upRSS, "RSS-vs-upstream")
			b.ReportMetric(settled/upSettled, "RSS-settled-vs-upstream")
		}
		b.ReportMetric(0, "ns/op")
	})
}

// BenchmarkAPI measures create, get, list and watch-event throughput with client-go
// (protobuf, 16 workers, no client-side rate limit) against upstream and kubelite in
// the same run; kubelite's ops/s are also reported as a ratio to upstream's (above 1
// is better).
func BenchmarkAPI(b *testing.B) {
	upstream := map[string]float64{}
	b.Run("upstream", func(b *testing.B) {
		c, _, _ := startUpstream(b)
		apiBench(b, c, func(_ *testing.B, op string, opsPerSec float64) { upstream[op] = opsPerSec })
	})
	b.Run("kubelite", func(b *testing.B) {
		c, _ := startKubelite(b, kubeliteBin(b))
		apiBench(b, c, func(b *testing.B, op string, opsPerSec float64) {
			if up := upstream[op]; up > 0 {
				b.ReportMetric(opsPerSec/up, "speedup-vs-upstream")
			}
		})
	})
}

// apiBench runs one sub-benchmark per operation against c; record gets each
// operation's throughput, with the sub-benchmark to report on.
func apiBench(b *testing.B, c *cluster, record func(b *testing.B, op string, opsPerSec float64)) {
	cfg := rest.CopyConfig(c.config)
	cfg.QPS, cfg.Burst = 100000, 100000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	const workers = 16

	run := func(b *testing.B, op func(i int) error) float64 {
		var wg sync.WaitGroup
		next := make(chan int)
		errs := make(chan error, workers)
		b.ResetTimer()
		start := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if err := op(i); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		for i := 0; i < b.N; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		rate := float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(rate, "ops/s")
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		return rate
	}
	cm := func(i int) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"k": "v"}}
	}
	var created, watched int
	b.Run("create", func(b *testing.B) {
		rate := run(b, func(i int) error {
			_, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm(created+i), metav1.CreateOptions{})
			return err
		})
		created += b.N
		record(b, "create", rate)
	})
	b.Run("get", func(b *testing.B) {
		record(b, "get", run(b, func(i int) error {
			_, err := client.CoreV1().ConfigMaps("default").Get(ctx, fmt.Sprintf("cm-%d", i%created), metav1.GetOptions{})
			return err
		}))
	})
	b.Run("list", func(b *testing.B) {
		record(b, "list", run(b, func(i int) error {
			_, err := client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 100})
			return err
		}))
	})
	b.Run("watch-events", func(b *testing.B) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench-watch"}}
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
		w, err := client.CoreV1().ConfigMaps("bench-watch").Watch(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Stop()
		offset := watched
		watched += b.N
		got := make(chan int)
		go func() {
			n := 0
			for range w.ResultChan() {
				n++
				if n == b.N {
					break
				}
			}
			got <- n
		}()
		start := time.Now()
		run(b, func(i int) error {
			_, err := client.CoreV1().ConfigMaps("bench-watch").Create(ctx, cm(offset+i), metav1.CreateOptions{})
			return err
		})
		select {
		case <-got:
		case <-time.After(time.Minute):
			b.Fatal("watch events missing")
		}
		rate := float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(rate, "events/s")
		record(b, "watch-events", rate)
	})
}
