package containerd_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// BenchmarkPodStartupLatency is upstream's pod startup latency SLI on one
// real node, kubelite's node agent beside upstream's kubelet, each on its
// own kubelite API server and its own containerd (the same binary):
//
//   - kubelite: `kubelite server --local-node=containerd`, the node agent in
//     the server's process;
//   - upstream: `kubelite server --local-node=` and upstream's kubelet
//     v1.37.2 (conformance/tools/build.sh kubelet) as its one node, on a
//     containerd with the CRI plugin (see startKubelet).
//
// On each, $KUBELITE_STARTUP_PODS (100) pods of one busybox container each
// (the image present) are created one every $KUBELITE_STARTUP_INTERVAL_MS
// (100 ms), and each is timed from just before its create call to the
// watch event that first shows it Running and Ready (scheduling, sandbox,
// container start and status report included), on a node that is Ready.
// Reported: p50, p90, p99 and max in ms over all b.N rounds, the target
// being p99 under 1 s (upstream's SLO is 5 s); and the CPU seconds the
// whole machine spent in a round, from the first create to the last pod
// Ready (server, node, containerd, shims and runc alike).
func BenchmarkPodStartupLatency(b *testing.B) {
	pods := envInt(b, "KUBELITE_STARTUP_PODS", 100)
	interval := time.Duration(envInt(b, "KUBELITE_STARTUP_INTERVAL_MS", 100)) * time.Millisecond
	// The case names the rate, so that runs at several rates tabulate
	// side by side (bench/report.sh).
	b.Run(fmt.Sprintf("every-%dms", interval.Milliseconds()), func(b *testing.B) {
		b.Run("kubelite", func(b *testing.B) {
			if daemon == nil {
				b.Skip(skipReason)
			}
			s, dataDir := startLocalNodeServer(b, "kl-bps-")
			measurePodStartup(b, s, filepath.Join(dataDir, "pods"), pods, interval)
		})
		b.Run("upstream", func(b *testing.B) {
			if daemon == nil {
				b.Skip(skipReason)
			}
			s := testserver.Start(b)
			measurePodStartup(b, s, startKubelet(b, s), pods, interval)
		})
	})
}

// measurePodStartup is BenchmarkPodStartupLatency on the server s whose one
// node keeps a directory per pod (named by its UID) in podsDir, which it
// removes once the pod is gone: rounds of startupPods pods created one
// every startupInterval.
func measurePodStartup(b *testing.B, s *testserver.Server, podsDir string, startupPods int, startupInterval time.Duration) {
	// The SLI is measured on a cluster that is up: the node Ready, and
	// without the not-ready taint the scheduler would back off from.
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		nodes, err := s.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(nodes.Items) == 0 {
			return false, nil
		}
		n := nodes.Items[0]
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue && len(n.Spec.Taints) == 0, nil
			}
		}
		return false, nil
	}); err != nil {
		b.Fatal("the node is not Ready and untainted after a minute")
	}
	b.ResetTimer()
	var lat, bind []time.Duration
	var cpu float64
	for round := 0; round < b.N; round++ {
		ns := fmt.Sprintf("startup-%d", round)
		s.CreateNamespace(b, ns)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		pods := s.Client.CoreV1().Pods(ns)
		w, err := pods.Watch(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		// Each pod's start, set before its create call, so before the
		// watch can show it.
		var mu sync.Mutex
		created := make(map[string]time.Time, startupPods)
		cpu0 := machineCPU(b)
		go func() {
			for i := 0; i < startupPods && ctx.Err() == nil; i++ {
				name := fmt.Sprintf("pod-%03d", i)
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec: corev1.PodSpec{
						TerminationGracePeriodSeconds: new(int64),
						Containers: []corev1.Container{{
							Name: "main", Image: testImage, Command: []string{"sh", "-c", `trap "exit 0" TERM; sleep 3600 & wait`},
						}},
					},
				}
				t0 := time.Now()
				mu.Lock()
				created[name] = t0
				mu.Unlock()
				if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					b.Error(err)
					cancel()
					return
				}
				time.Sleep(time.Until(t0.Add(startupInterval)))
			}
		}()
		ready := map[string]time.Duration{}
		bound := map[string]time.Duration{}
		for len(ready) < startupPods {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					b.Fatalf("watch ended with %d of %d pods ready", len(ready), startupPods)
				}
				now := time.Now()
				p, isPod := ev.Object.(*corev1.Pod)
				if isPod && p.Spec.NodeName != "" {
					if _, seen := bound[p.Name]; !seen {
						mu.Lock()
						bound[p.Name] = now.Sub(created[p.Name])
						mu.Unlock()
					}
				}
				if !isPod || ev.Type == watch.Deleted || !runningAndReady(p) {
					continue
				}
				if _, seen := ready[p.Name]; !seen {
					mu.Lock()
					ready[p.Name] = now.Sub(created[p.Name])
					mu.Unlock()
				}
			case <-ctx.Done():
				b.Fatalf("%d of %d pods Running and Ready after 5 minutes", len(ready), startupPods)
			}
		}
		cpu += machineCPU(b) - cpu0
		w.Stop()
		rl := slices.Sorted(maps.Values(ready))
		b.Logf("round %d: p50 %v, p99 %v", round, rl[len(rl)/2], rl[(len(rl)-1)*99/100])
		for name, d := range ready {
			lat = append(lat, d)
			bind = append(bind, bound[name])
		}
		b.StopTimer()
		if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{}); err != nil {
			b.Fatal(err)
		}
		// The next round starts on a node that has let these go: gone from
		// the API (at once: grace 0), and their directories (one per pod
		// UID in podsDir) removed by the node after.
		if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			l, err := pods.List(ctx, metav1.ListOptions{})
			if err != nil || len(l.Items) > 0 {
				return false, nil
			}
			entries, err := os.ReadDir(podsDir)
			if err != nil {
				return false, nil
			}
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), ".") {
					return false, nil
				}
			}
			return true, nil
		}); err != nil {
			b.Fatal("the pods were not gone 5 minutes after the round began")
		}
		cancel()
		b.StartTimer()
	}
	slices.Sort(lat)
	slices.Sort(bind)
	pct := func(d []time.Duration, p int) float64 { return float64(d[(len(d)-1)*p/100].Microseconds()) / 1000 }
	b.ReportMetric(pct(lat, 50), "p50-ms")
	b.ReportMetric(pct(lat, 90), "p90-ms")
	b.ReportMetric(pct(lat, 99), "p99-ms")
	b.ReportMetric(pct(lat, 100), "max-ms")
	// Of which scheduling: created to the watch showing the pod bound.
	b.ReportMetric(pct(bind, 50), "bound-p50-ms")
	b.ReportMetric(pct(bind, 99), "bound-p99-ms")
	b.ReportMetric(cpu/float64(b.N), "machine-cpu-s")
	b.ReportMetric(0, "ns/op")
}

// envInt is the integer in the environment variable name, else def.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// machineCPU is the CPU time all processors have spent outside idle and
// iowait since boot, in seconds (/proc/stat's first line).
func machineCPU(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		b.Fatalf("/proc/stat: unexpected first line %q", line)
	}
	var ticks float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			b.Fatalf("/proc/stat: %v", err)
		}
		ticks += v
	}
	return ticks / 100 // USER_HZ, 100 on Linux
}

func runningAndReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
