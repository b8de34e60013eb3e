package main

import (
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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// BenchmarkSimulatedNodes starts `kubelite nodeagent --simulated-nodes N` as a
// process of its own against a kubelite server and measures, for N nodes
// (KUBELITE_SIM_NODES, default 5000): the time from its start until every
// node is Ready, then, once idle for a minute of heartbeats, its resident
// memory and CPU per 1,000 nodes. Then it creates KUBELITE_SIM_PODS_PER_NODE
// pods (default 10) on each node, bound by spec.nodeName, and measures how
// fast they become Running and Ready and what they add to the agent's memory.
//
// No upstream component hosts simulated nodes (an upstream kubelet is one
// node with real containers), so there is no ratio to report here.
func BenchmarkSimulatedNodes(b *testing.B) {
	n := 5000
	if v := os.Getenv("KUBELITE_SIM_NODES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("KUBELITE_SIM_NODES: %v", err)
		}
	}
	perNode := 10
	if v := os.Getenv("KUBELITE_SIM_PODS_PER_NODE"); v != "" {
		var err error
		if perNode, err = strconv.Atoi(v); err != nil {
			b.Fatalf("KUBELITE_SIM_PODS_PER_NODE: %v", err)
		}
	}
	bin := kubeliteBin(b)
	for range b.N {
		server, _ := startKubelite(b, bin)
		kubeconfig := filepath.Join(server.dataDir, "kubeconfig")
		cmd := exec.Command(bin, "nodeagent", "--kubeconfig", kubeconfig, "--simulated-nodes", strconv.Itoa(n), "-v=0")
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		})
		took := waitNodesReady(b, server.config, n, 10*time.Minute)
		b.ReportMetric(took.Seconds(), "s-to-all-Ready")
		b.Logf("%d nodes Ready %v after start", n, took)

		// Idle: heartbeats only. Measure CPU over a minute, then memory.
		time.Sleep(15 * time.Second)
		cpu0 := cpuSeconds(b, cmd.Process.Pid)
		serverCPU0 := cpuSeconds(b, server.pids[0])
		const window = 60 * time.Second
		time.Sleep(window)
		cpu := cpuSeconds(b, cmd.Process.Pid) - cpu0
		serverCPU := cpuSeconds(b, server.pids[0]) - serverCPU0
		agent := &cluster{pids: []int{cmd.Process.Pid}}
		rss, anon := agent.rssMiB(b)
		per := float64(n) / 1000
		b.ReportMetric(rss/per, "MiB-RSS-per-1000-nodes")
		b.ReportMetric(anon/per, "MiB-anon-per-1000-nodes")
		b.ReportMetric(100*cpu/window.Seconds()/per, "CPU%-idle-per-1000-nodes")
		b.ReportMetric(100*serverCPU/window.Seconds(), "server-CPU%-idle")
		b.ReportMetric(0, "ns/op")

		if perNode > 0 {
			pods := n * perNode
			took := createReadyPods(b, server.config, n, perNode, "kubelite-sim-%04d")
			withPods, withPodsAnon := agent.rssMiB(b)
			b.Logf("%d pods Running and Ready %v after the first create", pods, took)
			b.ReportMetric(float64(pods)/took.Seconds(), "pods/s-to-Ready")
			b.ReportMetric((withPods-rss)/(float64(pods)/1000), "MiB-RSS-per-1000-pods")
			b.ReportMetric((withPodsAnon-anon)/(float64(pods)/1000), "MiB-anon-per-1000-pods")
		}
	}
}

// createReadyPods creates perNode pods on each of n nodes (named by the
// format nodeName), 64 at a time, and returns how long it took from the
// first create until all were Running and Ready.
func createReadyPods(b *testing.B, cfg *rest.Config, n, perNode int, nodeName string) time.Duration {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 5000, 10000
	client := kubernetes.NewForConfigOrDie(cfg)
	total := n * perNode
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	ready := 0
	done := make(chan struct{})
	seen := map[string]bool{}
	count := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || seen[pod.Name] {
			return
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				seen[pod.Name] = true
				if ready++; ready == total {
					close(done)
				}
			}
		}
	}
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "pods", "default", fields.Everything())
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw, ObjectType: &corev1.Pod{},
		Handler: cache.ResourceEventHandlerFuncs{AddFunc: count, UpdateFunc: func(_, obj any) { count(obj) }},
	})
	go ctrl.RunWithContext(ctx)

	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := range work {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%07d", i)},
					Spec: corev1.PodSpec{
						NodeName:   fmt.Sprintf(nodeName, i%n),
						Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
					},
				}
				if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					b.Errorf("create pod: %v", err)
				}
			}
		})
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	b.Logf("%d pods created in %v", total, time.Since(start))
	select {
	case <-done:
		return time.Since(start)
	case <-ctx.Done():
		b.Fatalf("%d of %d pods Ready after %v", ready, total, time.Since(start))
	}
	return 0
}

// waitNodesReady watches nodes until n of them are Ready and returns how long
// that took.
func waitNodesReady(b *testing.B, cfg *rest.Config, n int, timeout time.Duration) time.Duration {
	start := time.Now()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 100, 200
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ready := map[string]bool{}
	done := make(chan struct{})
	update := func(obj any) {
		node, ok := obj.(*corev1.Node)
		if !ok {
			return
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready[node.Name] = c.Status == corev1.ConditionTrue
			}
		}
		count := 0
		for _, r := range ready {
			if r {
				count++
			}
		}
		if count >= n {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	}
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "nodes", "", fields.Everything())
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    &corev1.Node{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    update,
			UpdateFunc: func(_, obj any) { update(obj) },
		},
	})
	go ctrl.RunWithContext(ctx)
	select {
	case <-done:
		return time.Since(start)
	case <-ctx.Done():
		count := 0
		for _, r := range ready {
			if r {
				count++
			}
		}
		b.Fatalf("%d of %d nodes Ready after %v", count, n, timeout)
	}
	return 0
}

// cpuSeconds is the user and system CPU time process pid used so far.
func cpuSeconds(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which ends in ')'.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks; USER_HZ is 100 on Linux
}
