package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// BenchmarkAPILatency measures API throughput and latency with client-go
// (protobuf, no client-side rate limit, one clientset shared by the clients)
// at several client concurrencies, against both control planes in the same
// run: the kubelite server (no node), whose controllers and scheduler run
// in-process and watch what is written (the garbage collector every
// resource), and upstream etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler (as BenchmarkControlPlane starts them, without a node).
// KUBELITE_API_SERVER_ONLY=1 compares the API servers alone instead: etcd +
// kube-apiserver against `kubelite server
// --disable=controller-manager,scheduler`. For each concurrency c (KUBELITE_API_CONCURRENCY, default 1,8,64), in
// a namespace of its own, c clients together do:
//
//   - create: KUBELITE_API_OBJECTS (2,000) ConfigMaps of
//     KUBELITE_API_OBJECT_BYTES (1,024) bytes of data;
//   - get: each of them once;
//   - update: each of them once (its data changed);
//   - list: KUBELITE_API_LISTS (100) lists of the whole namespace (the
//     2,000 objects, and kube-root-ca.crt where a controller manager
//     runs, no limit);
//   - watch: KUBELITE_API_WATCH_WRITES (1,000) creates in another namespace
//     that one watch follows; the latency is the watch event delay, from a
//     create's response to its ADDED event arriving (0 when the event came
//     first), and ops/s is events per second.
//
// Each reports ops/s and the p50 and p99 latency in ms
// (BenchmarkAPILatency/<control-planes|api-servers>/<side>/c=<c>/<op>). Run it with -benchtime 1x: each
// operation is done as above once, whatever b.N.
func BenchmarkAPILatency(b *testing.B) {
	s := latencySettings{
		concurrency: envInts(b, "KUBELITE_API_CONCURRENCY", []int{1, 8, 64}),
		objects:     envInt(b, "KUBELITE_API_OBJECTS", 2000),
		size:        envInt(b, "KUBELITE_API_OBJECT_BYTES", 1024),
		lists:       envInt(b, "KUBELITE_API_LISTS", 100),
		watchWrites: envInt(b, "KUBELITE_API_WATCH_WRITES", 1000),
	}
	serverOnly := os.Getenv("KUBELITE_API_SERVER_ONLY") == "1"
	mode := "control-planes"
	if serverOnly {
		mode = "api-servers"
	}
	b.Run(mode, func(b *testing.B) { s.sides(b, serverOnly) })
}

// sides runs the measurements on upstream, then on kubelite.
func (s latencySettings) sides(b *testing.B, serverOnly bool) {
	b.Run("upstream", func(b *testing.B) {
		if serverOnly {
			c, _, _ := startUpstream(b)
			s.run(b, c.config)
			return
		}
		etcd, apiserver := upstreamBins(b)
		kcm, sched := upstreamControllerBins()
		if kcm == "" {
			b.Skip("no upstream kube-controller-manager and kube-scheduler (conformance/tools/build.sh builds them)")
		}
		cp := startUpstreamControlPlane(b, etcd, apiserver, kcm, sched, "")
		s.run(b, cp.config)
	})
	b.Run("kubelite", func(b *testing.B) {
		var extra []string
		if serverOnly {
			extra = []string{"--disable=controller-manager,scheduler"}
		}
		c, _ := startKubelite(b, kubeliteBin(b), extra...)
		s.run(b, c.config)
	})
}

type latencySettings struct {
	concurrency                       []int
	objects, size, lists, watchWrites int
}

func (s latencySettings) run(b *testing.B, cfg *rest.Config) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	data := strings.Repeat("x", s.size)
	namespace := func(b *testing.B, name string) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	cm := func(i int) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i)},
			Data: map[string]string{"data": data}}
	}
	for _, c := range s.concurrency {
		ns := fmt.Sprintf("latency-c%d", c)
		namespace(b, ns)
		cms := client.CoreV1().ConfigMaps(ns)
		created := make([]*corev1.ConfigMap, s.objects)
		b.Run(fmt.Sprintf("c=%d/create", c), func(b *testing.B) {
			reportLatencies(b, runConcurrently(b, c, s.objects, func(i int) error {
				var err error
				created[i], err = cms.Create(ctx, cm(i), metav1.CreateOptions{})
				return err
			}))
		})
		b.Run(fmt.Sprintf("c=%d/get", c), func(b *testing.B) {
			reportLatencies(b, runConcurrently(b, c, s.objects, func(i int) error {
				_, err := cms.Get(ctx, created[i].Name, metav1.GetOptions{})
				return err
			}))
		})
		b.Run(fmt.Sprintf("c=%d/update", c), func(b *testing.B) {
			reportLatencies(b, runConcurrently(b, c, s.objects, func(i int) error {
				obj := created[i].DeepCopy()
				obj.Data["data"] = "y" + data[1:]
				_, err := cms.Update(ctx, obj, metav1.UpdateOptions{})
				return err
			}))
		})
		b.Run(fmt.Sprintf("c=%d/list", c), func(b *testing.B) {
			reportLatencies(b, runConcurrently(b, c, s.lists, func(int) error {
				list, err := cms.List(ctx, metav1.ListOptions{})
				if err != nil {
					return err
				}
				// The namespace also holds kube-root-ca.crt where a
				// controller manager runs.
				n := 0
				for _, item := range list.Items {
					if strings.HasPrefix(item.Name, "cm-") {
						n++
					}
				}
				if n != s.objects {
					err = fmt.Errorf("listed %d of the %d ConfigMaps", n, s.objects)
				}
				return err
			}))
		})
		b.Run(fmt.Sprintf("c=%d/watch", c), func(b *testing.B) {
			wns := fmt.Sprintf("latency-watch-c%d", c)
			namespace(b, wns)
			reportLatencies(b, watchDelays(b, client.CoreV1().ConfigMaps(wns), c, s.watchWrites, cm))
		})
	}
}

// latencies are the durations of a run's operations and how long the run took.
type latencies struct {
	each    []time.Duration
	elapsed time.Duration
}

// runConcurrently does op(0..n-1) from c goroutines and returns each one's
// latency; an error fails the benchmark.
func runConcurrently(b *testing.B, c, n int, op func(i int) error) latencies {
	each := make([]time.Duration, n)
	work := make(chan int)
	var wg sync.WaitGroup
	var failed sync.Once
	start := time.Now()
	for range c {
		wg.Go(func() {
			for i := range work {
				t := time.Now()
				err := op(i)
				each[i] = time.Since(t)
				if err != nil {
					failed.Do(func() { b.Errorf("operation %d: %v", i, err) })
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return latencies{each: each, elapsed: time.Since(start)}
}

// watchDelays watches cms, creates n ConfigMaps from c goroutines, and
// returns for each the delay from the create's response to the watch's
// ADDED event (0 when the event came first), with the time from the first
// create to the last event.
func watchDelays(b *testing.B, cms interface {
	Create(context.Context, *corev1.ConfigMap, metav1.CreateOptions) (*corev1.ConfigMap, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}, c, n int, cm func(int) *corev1.ConfigMap) latencies {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w, err := cms.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	arrived := make([]time.Time, n)
	done := make(chan error, 1)
	go func() {
		seen := 0
		for e := range w.ResultChan() {
			now := time.Now()
			if e.Type != watch.Added {
				continue
			}
			obj, ok := e.Object.(*corev1.ConfigMap)
			if !ok {
				done <- fmt.Errorf("watch: %v", e.Object)
				return
			}
			i, err := strconv.Atoi(strings.TrimPrefix(obj.Name, "cm-"))
			if err != nil || i < 0 || i >= n {
				continue
			}
			arrived[i] = now
			if seen++; seen == n {
				done <- nil
				return
			}
		}
		done <- fmt.Errorf("watch ended after %d of %d events", seen, n)
	}()
	acked := make([]time.Time, n)
	start := time.Now()
	runConcurrently(b, c, n, func(i int) error {
		_, err := cms.Create(ctx, cm(i), metav1.CreateOptions{})
		acked[i] = time.Now()
		return err
	})
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	delays := make([]time.Duration, n)
	last := start
	for i := range n {
		delays[i] = max(0, arrived[i].Sub(acked[i]))
		if arrived[i].After(last) {
			last = arrived[i]
		}
	}
	return latencies{each: delays, elapsed: last.Sub(start)}
}

// reportLatencies reports ops/s and the p50 and p99 latencies in ms.
func reportLatencies(b *testing.B, l latencies) {
	sorted := slices.Clone(l.each)
	slices.Sort(sorted)
	pct := func(p float64) float64 {
		i := max(0, int(math.Ceil(p*float64(len(sorted))))-1)
		return float64(sorted[i].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(l.each))/l.elapsed.Seconds(), "ops/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
