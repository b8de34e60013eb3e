package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// BenchmarkScheduler places M pending pods on N Ready nodes (Node objects
// with status, no agent) with kubelite's scheduler and, in the same run and
// on a fresh server with the same objects, with upstream's kube-scheduler
// (built by conformance/tools/build.sh into the binary cache, or
// KUBE_SCHEDULER_BIN). Both run as processes of their own against a
// `kubelite server --disable=scheduler,controller-manager`, with the same --kube-api-qps and
// --kube-api-burst, and pods/s counts from the scheduler's exec until the
// last pod is seen bound through a watch. Every placement is then checked
// against the filters the pods ask for (checkPlacements), and a violation
// fails the run.
//
// Workloads: "plain" pods request cpu and memory; "affinity-spread" pods
// also spread over zones (DoNotSchedule, maxSkew 1) and keep away from
// pods of their own app by hostname, required for half the apps and
// preferred for the other half.
//
// Settings (environment):
//
//	KUBELITE_SCHED_NODES      node counts, comma separated (default 1000,5000)
//	KUBELITE_SCHED_PODS       pods per run (default 10000)
//	KUBELITE_SCHED_WORKLOADS  plain,affinity-spread (default both)
//	KUBELITE_SCHED_QPS        client QPS and burst of both schedulers,
//	KUBELITE_SCHED_BURST      (default 5000 and 5000: the schedulers, not the
//	                          client rate limiter, are measured; 50 and 100
//	                          are kube-scheduler's defaults)
//
//	KUBELITE_SCHED_TIMEOUT_MINUTES
//	                          how long one scheduler's run (set-up and
//	                          scheduling) may take (default 60: upstream's
//	                          kube-scheduler needed 12 minutes for 10,000
//	                          affinity-spread pods on 1,000 nodes on a busy
//	                          2-core machine, and more on 5,000)
//
//	KUBELITE_SCHED_LOGS       a folder that keeps the schedulers' logs
//	                          (<case>.<scheduler>.log; default: a temporary
//	                          one, removed)
//
//	KUBELITE_SCHED_PPROF      a folder: kubelite's scheduler serves
//	                          /debug/pprof/ and the bench saves a CPU profile
//	                          of its first KUBELITE_SCHED_PPROF_SECONDS
//	                          (default 10) and a heap profile at the end;
//	                          for both schedulers' runs it also saves a CPU
//	                          profile of the API server over the same
//	                          seconds (<case>.<scheduler>.server.cpu.pprof)
//
// Quick mode: KUBELITE_SCHED_NODES=500 KUBELITE_SCHED_PODS=2000.
//
// Reported per scheduler: pods/s (exec to all bound), pods/s-after-first
// (first binding to all bound, without start-up), the peak live heap after
// a GC (GODEBUG=gctrace=1), resident memory at the end, CPU seconds, and
// the API server's CPU seconds and the API requests it served meanwhile per pod (the benchmark's
// own watch included); kubelite's also as ratios to upstream's.
func BenchmarkScheduler(b *testing.B) {
	nodeCounts := envInts(b, "KUBELITE_SCHED_NODES", []int{1000, 5000})
	pods := envInts(b, "KUBELITE_SCHED_PODS", []int{10000})[0]
	qps := envInts(b, "KUBELITE_SCHED_QPS", []int{5000})[0]
	burst := envInts(b, "KUBELITE_SCHED_BURST", []int{5000})[0]
	workloads := []string{"plain", "affinity-spread"}
	if v := os.Getenv("KUBELITE_SCHED_WORKLOADS"); v != "" {
		workloads = strings.Split(v, ",")
	}
	kubelite := kubeliteBin(b)
	upstream := upstreamScheduler(b)
	clientFlags := []string{"--leader-elect=false", "--kube-api-qps", strconv.Itoa(qps), "--kube-api-burst", strconv.Itoa(burst)}
	for _, n := range nodeCounts {
		for _, workload := range workloads {
			b.Run(fmt.Sprintf("nodes=%d/pods=%d/%s", n, pods, workload), func(b *testing.B) {
				var up schedRun
				b.Run("upstream", func(b *testing.B) {
					for range b.N {
						up = runScheduler(b, kubelite, n, pods, workload,
							append([]string{upstream, "--secure-port", "0"}, clientFlags...))
						up.report(b)
					}
				})
				b.Run("kubelite", func(b *testing.B) {
					for range b.N {
						argv := append([]string{kubelite, "scheduler"}, clientFlags...)
						r := runScheduler(b, kubelite, n, pods, workload, argv)
						r.report(b)
						if up.podsPerSec > 0 {
							b.ReportMetric(r.podsPerSec/up.podsPerSec, "speedup-vs-upstream")
							b.ReportMetric(r.afterFirst/up.afterFirst, "speedup-after-first-vs-upstream")
							b.ReportMetric(r.heapMiB/up.heapMiB, "heap-vs-upstream")
						}
					}
				})
			})
		}
	}
}

// schedRun is one scheduler's measurement.
type schedRun struct {
	podsPerSec, afterFirst float64
	heapMiB, rssMiB, cpu   float64
	// serverCPU is the API server's CPU seconds meanwhile.
	serverCPU float64
	// requests is how many API requests the server served meanwhile.
	requests int
	pods     int
}

func (r schedRun) report(b *testing.B) {
	b.ReportMetric(r.podsPerSec, "pods/s")
	b.ReportMetric(r.afterFirst, "pods/s-after-first")
	b.ReportMetric(r.heapMiB, "heap-MiB-peak-live")
	b.ReportMetric(r.rssMiB, "MiB-RSS-end")
	b.ReportMetric(r.cpu, "CPU-s")
	b.ReportMetric(r.serverCPU, "server-CPU-s")
	b.ReportMetric(float64(r.requests)/float64(r.pods), "API-requests-per-pod")
	b.ReportMetric(0, "ns/op")
}

// upstreamScheduler is the path of upstream's kube-scheduler, or skips.
func upstreamScheduler(b *testing.B) string {
	p := os.Getenv("KUBE_SCHEDULER_BIN")
	if p == "" {
		dir := os.Getenv("KUBELITE_CACHE")
		if dir == "" {
			dir = "../../.cache/bin"
		}
		p = filepath.Join(dir, "kube-scheduler")
	}
	p, _ = filepath.Abs(p)
	if _, err := os.Stat(p); err != nil {
		b.Skipf("no kube-scheduler at %s (conformance/tools/build.sh kube-scheduler builds it): %v", p, err)
	}
	return p
}

// runScheduler starts a kubelite server without its scheduler, creates n
// Ready nodes and m pending pods of workload, then execs the scheduler
// command (argv, to which --kubeconfig is added) and waits until every pod
// is bound; then it checks the placements.
func runScheduler(b *testing.B, kubelite string, n, m int, workload string, argv []string) schedRun {
	b.StopTimer()
	// No controller manager either: its node lifecycle controller would
	// mark the agentless nodes Unknown (and taint them) 50 s after their
	// one heartbeat, and the scheduler is measured alone.
	server, _ := startKubelite(b, kubelite, "--disable=scheduler,controller-manager")
	cfg := server.config
	cfg.QPS, cfg.Burst = 5000, 10000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(envInts(b, "KUBELITE_SCHED_TIMEOUT_MINUTES", []int{60})[0])*time.Minute)
	defer cancel()
	const ns = "sched-bench"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	// The service account controller is off: make the namespace's default
	// service account that pods are admitted with.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatal(err)
	}
	setup := time.Now()
	inParallel(b, n, func(i int) error {
		node, err := client.CoreV1().Nodes().Create(ctx, benchNode(i), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		node.Status = benchNodeStatus()
		if node, err = client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			return err
		}
		// Nodes are admitted with the not-ready:NoSchedule taint; with the
		// controller manager off, take it off as its node lifecycle
		// controller would for a Ready node.
		node.Spec.Taints = nil
		_, err = client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
	inParallel(b, m, func(i int) error {
		_, err := client.CoreV1().Pods(ns).Create(ctx, benchSchedPod(i, workload), metav1.CreateOptions{})
		return err
	})
	b.Logf("%d nodes and %d pods created in %v", n, m, time.Since(setup))

	// Watch pods until all are bound.
	var mu sync.Mutex
	var firstBound time.Time
	bound := map[string]bool{}
	done := make(chan struct{})
	seen := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if bound[pod.Name] {
			return
		}
		if len(bound) == 0 {
			firstBound = time.Now()
		}
		bound[pod.Name] = true
		if len(bound) == m {
			close(done)
		}
	}
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "pods", ns, fields.Everything())
	informer, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw, ObjectType: &corev1.Pod{},
		Handler: cache.ResourceEventHandlerFuncs{AddFunc: seen, UpdateFunc: func(_, obj any) { seen(obj) }},
	})
	go ctrl.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), ctrl.HasSynced) {
		b.Fatal("pod watch did not sync")
	}

	logDir := os.Getenv("KUBELITE_SCHED_LOGS")
	if logDir == "" {
		logDir = b.TempDir()
	}
	logPath := filepath.Join(logDir, fmt.Sprintf("nodes=%d-%s.%s.log", n, workload, filepath.Base(argv[0])))
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(argv[0], append(argv[1:], "--kubeconfig", filepath.Join(server.dataDir, "kubeconfig"))...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	before := apiRequests(b, client)
	serverCPU := cpuSeconds(b, server.pids[0])
	prof := newProfiler(b, argv[0] == kubelite, client)
	cmd.Args = append(cmd.Args, prof.flags...)
	b.StartTimer()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	prof.startCPU(fmt.Sprintf("nodes=%d-%s", n, workload), filepath.Base(argv[0]))
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		}
	}
	defer stop()
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		got := len(bound)
		mu.Unlock()
		b.Fatalf("%d of %d pods bound after %v; log: %s", got, m, time.Since(start), logPath)
	}
	end := time.Now()
	b.StopTimer()
	after := apiRequests(b, client)
	r := schedRun{
		podsPerSec: float64(m) / end.Sub(start).Seconds(),
		afterFirst: float64(m-1) / end.Sub(firstBound).Seconds(),
		cpu:        cpuSeconds(b, cmd.Process.Pid),
		serverCPU:  cpuSeconds(b, server.pids[0]) - serverCPU,
		pods:       m,
	}
	r.rssMiB, _ = (&cluster{pids: []int{cmd.Process.Pid}}).rssMiB(b)
	prof.finish()
	stop()
	r.heapMiB = peakLiveHeapMiB(b, logPath)
	var requests []string
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			r.requests += d
			requests = append(requests, fmt.Sprintf("%s=%d", k, d))
		}
	}
	slices.Sort(requests)
	b.Logf("API requests while scheduling: %s", strings.Join(requests, " "))
	b.Logf("%s: %d pods on %d nodes in %v (first bound after %v): %.0f pods/s",
		filepath.Base(argv[0]), m, n, end.Sub(start).Round(time.Millisecond), firstBound.Sub(start).Round(time.Millisecond), r.podsPerSec)

	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var pods []*corev1.Pod
	for _, obj := range informer.List() {
		pods = append(pods, obj.(*corev1.Pod))
	}
	for _, v := range checkPlacements(nodes.Items, pods) {
		b.Error(v)
	}
	return r
}

// profiler saves profiles of kubelite's scheduler process and of the API
// server when KUBELITE_SCHED_PPROF names a folder.
type profiler struct {
	b      *testing.B
	dir    string
	addr   string // kubelite's scheduler's; empty for upstream's
	server kubernetes.Interface
	name   string
	flags  []string
	cpu    sync.WaitGroup
}

func newProfiler(b *testing.B, kubelite bool, server kubernetes.Interface) *profiler {
	p := &profiler{b: b, dir: os.Getenv("KUBELITE_SCHED_PPROF"), server: server}
	if p.dir == "" || !kubelite {
		return p
	}
	p.addr = fmt.Sprintf("127.0.0.1:%d", freePort(b))
	p.flags = []string{"--profiling-address", p.addr}
	return p
}

func (p *profiler) get(path, file string) {
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		p.b.Logf("profile %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(filepath.Join(p.dir, file), data, 0o644)
	}
	if err != nil {
		p.b.Logf("profile %s: %v", path, err)
	}
}

// startCPU starts saving a CPU profile of the scheduler just started
// (kubelite's) and of the API server (either's run).
func (p *profiler) startCPU(name, scheduler string) {
	if p.dir == "" {
		return
	}
	p.name = name
	secs := envInts(p.b, "KUBELITE_SCHED_PPROF_SECONDS", []int{10})[0]
	p.cpu.Go(func() {
		data, err := p.server.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(secs)).Timeout(time.Duration(secs+60) * time.Second).DoRaw(context.Background())
		if err == nil {
			err = os.WriteFile(filepath.Join(p.dir, name+"."+scheduler+".server.cpu.pprof"), data, 0o644)
		}
		if err != nil {
			p.b.Logf("server profile: %v", err)
		}
	})
	if p.addr == "" {
		return
	}
	p.cpu.Go(func() {
		// Wait for the listener.
		for range 100 {
			if c, err := net.Dial("tcp", p.addr); err == nil {
				c.Close()
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		p.get(fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), p.name+".cpu.pprof")
	})
}

// finish saves a heap profile and waits for the CPU profile.
func (p *profiler) finish() {
	if p.dir == "" {
		return
	}
	if p.addr != "" {
		p.get("/debug/pprof/heap", p.name+".heap.pprof")
	}
	p.cpu.Wait()
	p.b.Logf("profiles in %s", p.dir)
}

// gcLine matches a GODEBUG=gctrace=1 line's heap sizes: before, after
// and live after the GC, in MB.
var gcLine = regexp.MustCompile(`^gc \d+ @.* (\d+)->(\d+)->(\d+) MB`)

// peakLiveHeapMiB is the largest live heap after a GC that the process's
// gctrace lines in log report.
func peakLiveHeapMiB(b *testing.B, log string) float64 {
	f, err := os.Open(log)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	peak := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := gcLine.FindStringSubmatch(sc.Text()); m != nil {
			live, _ := strconv.Atoi(m[3])
			peak = max(peak, live)
		}
	}
	// gctrace's MB are 2^20 bytes.
	return float64(peak)
}

const benchZones = 10

func benchNode(i int) *corev1.Node {
	name := fmt.Sprintf("node-%05d", i)
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		corev1.LabelHostname:       name,
		corev1.LabelTopologyZone:   fmt.Sprintf("zone-%d", i%benchZones),
		corev1.LabelOSStable:       "linux",
		"node.kubernetes.io/bench": "true",
	}}}
}

func benchNodeStatus() corev1.NodeStatus {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	now := metav1.Now()
	return corev1.NodeStatus{
		Capacity: res, Allocatable: res,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: now, LastTransitionTime: now}},
	}
}

// benchApps is how many apps the pods belong to (label app=app-N).
const benchApps = 100

func benchSchedPod(i int, workload string) *corev1.Pod {
	app := i % benchApps
	labels := map[string]string{"app": fmt.Sprintf("app-%d", app)}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i), Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
			}}}}},
	}
	if workload == "plain" {
		return pod
	}
	sel := &metav1.LabelSelector{MatchLabels: labels}
	term := corev1.PodAffinityTerm{LabelSelector: sel, TopologyKey: corev1.LabelHostname}
	if app%2 == 0 {
		pod.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term}}}
	} else {
		pod.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 1, PodAffinityTerm: term}}}}
	}
	pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: sel,
	}}
	return pod
}

// inParallel runs f(0..n-1) on 32 goroutines and fails on the first error.
func inParallel(b *testing.B, n int, f func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

// envInts reads a comma-separated list of integers from env, or returns def.
func envInts(b *testing.B, env string, def []int) []int {
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want positive integers, comma separated", env, v)
		}
		out = append(out, n)
	}
	return out
}
