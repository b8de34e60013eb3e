package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// BenchmarkScale is `make scale`: the envelope of one small machine. A
// kubelite server (embedded etcd, no local node) and a separate `kubelite
// nodeagent` hosting KUBELITE_SCALE_NODES simulated nodes (default 5,000);
// Deployments of KUBELITE_SCALE_DEPLOYMENT_SIZE replicas (default 100) are
// created at a steady KUBELITE_SCALE_RATE pods per second (default 50) in
// KUBELITE_SCALE_NAMESPACES namespaces (default 10) until
// KUBELITE_SCALE_PODS pods (default 150,000) exist, and the run waits until
// all of them are Running.
//
// It reports what upstream's scalability SLOs measure, against them:
//   - API call latency p99 per verb, resource and scope, from the server's
//     apiserver_request_duration_seconds histogram over the run (SLO: 1 s
//     for single-object calls, 5 s for namespace lists, 30 s for
//     cluster-wide lists);
//   - pod startup latency p99, from the pod's creationTimestamp to Running
//     seen through a watch (SLO 5 s);
//
// and the resident memory of each process (peak and at the end), the etcd
// database's size and the time taken. Every minute it also checks each
// SLO over the last minute, so that the report names the first thing that
// broke and when. The run stops early, reporting the envelope reached, when
// the machine's available memory falls under KUBELITE_SCALE_MIN_FREE_MIB
// (default 3,072: the machine is shared) or pods stop becoming Running for
// KUBELITE_SCALE_STALL (default 5m), or once KUBELITE_SCALE_MAX_DURATION
// (default none) has passed since the first Deployment.
//
// If not every node is Ready within KUBELITE_SCALE_NODE_WAIT (default
// 15m), the pods go to those that are, and the report says so.
//
// With KUBELITE_SCALE_REPORT the report (markdown) is also written to that
// file, and with KUBELITE_SCALE_PPROF to a folder, CPU profiles of the server
// and the agent taken at half the pods and heap profiles at the end.
func BenchmarkScale(b *testing.B) {
	cfg := scaleConfig{
		nodes:      envInt(b, "KUBELITE_SCALE_NODES", 5000),
		pods:       envInt(b, "KUBELITE_SCALE_PODS", 150000),
		size:       envInt(b, "KUBELITE_SCALE_DEPLOYMENT_SIZE", 100),
		rate:       envInt(b, "KUBELITE_SCALE_RATE", 50),
		namespaces: envInt(b, "KUBELITE_SCALE_NAMESPACES", 10),
		minFreeMiB: envInt(b, "KUBELITE_SCALE_MIN_FREE_MIB", 3072),
		stall:      5 * time.Minute,
		pprofDir:   os.Getenv("KUBELITE_SCALE_PPROF"),
		reportFile: os.Getenv("KUBELITE_SCALE_REPORT"),
	}
	if v := os.Getenv("KUBELITE_SCALE_STALL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("KUBELITE_SCALE_STALL: %v", err)
		}
		cfg.stall = d
	}
	cfg.nodeWait = 15 * time.Minute
	if v := os.Getenv("KUBELITE_SCALE_NODE_WAIT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("KUBELITE_SCALE_NODE_WAIT: %v", err)
		}
		cfg.nodeWait = d
	}
	if v := os.Getenv("KUBELITE_SCALE_MAX_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("KUBELITE_SCALE_MAX_DURATION: %v", err)
		}
		cfg.maxDuration = d
	}
	bin := kubeliteBin(b)
	for range b.N {
		r := runScale(b, bin, cfg)
		report := r.markdown(cfg)
		b.Log("\n" + report)
		if cfg.reportFile != "" {
			if err := os.WriteFile(cfg.reportFile, []byte(report), 0o644); err != nil {
				b.Error(err)
			}
		}
		b.ReportMetric(float64(r.running), "pods-Running")
		b.ReportMetric(r.startupP99.Seconds(), "s-pod-startup-p99")
		b.ReportMetric(r.serverPeakMiB, "MiB-server-RSS-peak")
		b.ReportMetric(r.agentPeakMiB, "MiB-agent-RSS-peak")
		b.ReportMetric(r.took.Seconds(), "s-total")
		b.ReportMetric(0, "ns/op")
	}
}

type scaleConfig struct {
	nodes, pods, size, rate, namespaces, minFreeMiB int
	stall, maxDuration, nodeWait                    time.Duration
	pprofDir, reportFile                            string
}

// scaleResult is what a scale run measured.
type scaleResult struct {
	started                       time.Time
	nodesReady                    time.Duration
	readyNodes                    int
	nodeCodes, codes              []codeCount // failed requests while nodes registered, and over the run
	created, running              int
	createdIn, took               time.Duration
	stopped                       string // why the run ended early; empty if it reached its pods
	startupP50, startupP99        time.Duration
	startupSamples                int
	toScheduled, toStarted        [2]time.Duration // p50, p99 by the pods' own timestamps
	api                           []apiLatency
	breaches                      []breach
	serverPeakMiB, agentPeakMiB   float64
	serverEndMiB, agentEndMiB     float64
	serverHeapMiB, agentHeapMiB   float64 // peak live heap after a GC (gctrace)
	etcdDBMiB                     float64
	load                          string
	serverLog, agentLog, profiles string
}

// breach is an SLO first missed in one minute of the run.
type breach struct {
	at   time.Duration
	pods int
	what string
}

// apiLatency is one verb/resource/scope's latency over the run.
type apiLatency struct {
	key   histKey
	count float64
	p99   float64 // seconds; +Inf past the last bucket
}

type histKey struct{ verb, resource, scope string }

func (k histKey) String() string { return k.verb + " " + k.resource + " (" + k.scope + ")" }

// slo is upstream's API call latency SLO for a call of this scope, in
// seconds: single objects 1 s, a namespace's list 5 s, a cluster-wide list
// 30 s.
func (k histKey) slo() float64 {
	switch k.scope {
	case "namespace":
		if k.verb == "LIST" {
			return 5
		}
	case "cluster":
		if k.verb == "LIST" {
			return 30
		}
	}
	return 1
}

func runScale(b *testing.B, bin string, cfg scaleConfig) *scaleResult {
	r := &scaleResult{started: time.Now()}
	logDir := b.TempDir()
	if cfg.pprofDir != "" {
		logDir = cfg.pprofDir
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	r.serverLog, r.agentLog, r.profiles = filepath.Join(logDir, "server.log"), filepath.Join(logDir, "nodeagent.log"), cfg.pprofDir
	server := startScaleServer(b, bin, r.serverLog)
	kubeconfig := filepath.Join(server.dataDir, "kubeconfig")
	rc := rest.CopyConfig(server.config)
	rc.QPS, rc.Burst = -1, 0 // the generator's pace is its own
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	client := kubernetes.NewForConfigOrDie(rc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The SLOs count from the nodes' registration on.
	startMetrics := scrapeHistograms(b, client)
	startCodes := requestCodes(b, client)
	agentProfiling := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	agent := startLogged(b, r.agentLog, bin, "nodeagent", "--kubeconfig", kubeconfig,
		"--simulated-nodes", strconv.Itoa(cfg.nodes), "--profiling-address", agentProfiling, "-v=1")
	nodeStart := time.Now()
	r.readyNodes = countReadyNodes(ctx, b, client, cfg.nodes, cfg.nodeWait)
	r.nodesReady = time.Since(nodeStart)
	progress(b, "%d of %d nodes Ready after %v", r.readyNodes, cfg.nodes, r.nodesReady.Round(time.Second))
	r.nodeCodes = diffCodes(requestCodes(b, client), startCodes)
	if r.readyNodes == 0 {
		b.Fatalf("no node Ready after %v (log: %s)", cfg.nodeWait, r.agentLog)
	}
	var nss []string
	for i := range cfg.namespaces {
		ns := fmt.Sprintf("scale-%02d", i)
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		nss = append(nss, ns)
	}
	for _, ns := range nss {
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		}); err != nil {
			b.Fatalf("no default service account in %s: %v", ns, err)
		}
	}

	watcher := watchPodStartup(ctx, b, rc)
	window := scrapeHistograms(b, client)
	windowStartups := 0

	// The generator: one Deployment every size/rate seconds.
	genDone := make(chan struct{})
	var createdMu sync.Mutex
	created := 0
	go func() {
		defer close(genDone)
		every := time.Duration(float64(time.Second) * float64(cfg.size) / float64(cfg.rate))
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			createdMu.Lock()
			n := min(cfg.size, cfg.pods-created)
			createdMu.Unlock()
			if n <= 0 {
				return
			}
			ns := nss[i%len(nss)]
			if _, err := client.AppsV1().Deployments(ns).Create(ctx, scaleDeployment(fmt.Sprintf("d-%05d", i), n), metav1.CreateOptions{}); err != nil {
				if ctx.Err() != nil {
					return
				}
				b.Logf("create Deployment: %v", err)
			} else {
				createdMu.Lock()
				created += n
				createdMu.Unlock()
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()

	begin := time.Now()
	profiled := false
	lastRunning, lastProgress := 0, time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	ticks := 0
	for {
		<-tick.C
		ticks++
		srvRSS, _ := (&cluster{pids: server.pids}).rssMiB(b)
		agRSS, _ := (&cluster{pids: []int{agent}}).rssMiB(b)
		r.serverPeakMiB, r.agentPeakMiB = max(r.serverPeakMiB, srvRSS), max(r.agentPeakMiB, agRSS)
		running := watcher.running()
		createdMu.Lock()
		r.created = created
		createdMu.Unlock()
		if running > lastRunning {
			lastRunning, lastProgress = running, time.Now()
		}
		free := memAvailableMiB(b)
		progress(b, "%v: %d pods created, %d Running; RSS server %.0f MiB, agent %.0f MiB; machine %.0f MiB available; %s",
			time.Since(begin).Round(time.Second), r.created, running, srvRSS, agRSS, free, loadAverage())
		if ticks%6 == 0 {
			// The SLOs over the last minute.
			now := scrapeHistograms(b, client)
			for _, l := range apiLatencies(now, window) {
				if l.p99 > l.key.slo() {
					r.breach(time.Since(begin), running, fmt.Sprintf("API %s p99 %s over the minute (SLO %gs, %d calls)", l.key, fmtSeconds(l.p99), l.key.slo(), int(l.count)))
				}
			}
			window = now
			if p99, n := watcher.p99Since(windowStartups); n > 0 && p99 > 5*time.Second {
				r.breach(time.Since(begin), running, fmt.Sprintf("pod startup p99 %v over the minute (SLO 5s, %d pods)", p99.Round(10*time.Millisecond), n))
			}
			windowStartups = watcher.running()
		}
		if cfg.pprofDir != "" && !profiled && running >= cfg.pods/2 {
			profiled = true
			go saveProfile(b, client, nil, "/debug/pprof/profile?seconds=30", filepath.Join(cfg.pprofDir, "server.cpu.pprof"))
			go saveProfile(b, nil, &http.Client{}, "http://"+agentProfiling+"/debug/pprof/profile?seconds=30", filepath.Join(cfg.pprofDir, "nodeagent.cpu.pprof"))
		}
		if running >= cfg.pods {
			break
		}
		if free < float64(cfg.minFreeMiB) {
			r.stopped = fmt.Sprintf("the machine's available memory fell to %.0f MiB", free)
			break
		}
		if cfg.maxDuration > 0 && time.Since(begin) > cfg.maxDuration {
			r.stopped = fmt.Sprintf("the run's time (KUBELITE_SCALE_MAX_DURATION=%v) was up", cfg.maxDuration)
			break
		}
		if time.Since(lastProgress) > cfg.stall {
			r.stopped = fmt.Sprintf("no pod became Running for %v", cfg.stall)
			break
		}
	}
	r.took = time.Since(begin)
	cancel()
	<-genDone
	r.running = watcher.running()
	r.startupP50, r.startupP99, r.startupSamples = watcher.percentiles()
	r.toScheduled, r.toStarted = watcher.phases()
	r.api = apiLatencies(scrapeHistograms(b, client), startMetrics)
	r.codes = diffCodes(requestCodes(b, client), startCodes)
	r.serverEndMiB, _ = (&cluster{pids: server.pids}).rssMiB(b)
	r.agentEndMiB, _ = (&cluster{pids: []int{agent}}).rssMiB(b)
	r.etcdDBMiB = etcdDBMiB(b, server.dataDir)
	r.load = loadAverage()
	if cfg.pprofDir != "" {
		saveProfile(b, client, nil, "/debug/pprof/heap", filepath.Join(cfg.pprofDir, "server.heap.pprof"))
		saveProfile(b, nil, &http.Client{}, "http://"+agentProfiling+"/debug/pprof/heap", filepath.Join(cfg.pprofDir, "nodeagent.heap.pprof"))
	}
	server.stop()
	r.serverHeapMiB = peakLiveHeapMiB(b, r.serverLog)
	r.agentHeapMiB = peakLiveHeapMiB(b, r.agentLog)
	return r
}

func (r *scaleResult) breach(at time.Duration, pods int, what string) {
	r.breaches = append(r.breaches, breach{at: at, pods: pods, what: what})
}

// scaleDeployment is one Deployment of the load: pods that request a
// little (as upstream's load test's do) on any node.
func scaleDeployment(name string, replicas int) *appsv1.Deployment {
	return pauseDeployment("", name, replicas, "1m", "10Mi")
}

// startScaleServer starts `kubelite server` alone (no local node) with its
// log, and the garbage collector's trace, in log.
func startScaleServer(b *testing.B, bin, log string) *cluster {
	dir := b.TempDir()
	f, err := os.Create(log)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "server", "--data-dir", dir, "--bind-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-client-port", "0", "--etcd-peer-port", "0", "--local-node=", "-v=1")
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			fmt.Fprintln(f, sc.Text())
			if strings.Contains(sc.Text(), "kubelite is ready") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		b.Fatalf("kubelite not ready after 2 minutes (log: %s)", log)
	}
	c := &cluster{dataDir: dir, pids: []int{cmd.Process.Pid}}
	if c.config, err = clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig")); err != nil {
		b.Fatal(err)
	}
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
			f.Close()
		})
	}
	b.Cleanup(c.stop)
	return c
}

// startLogged starts a process that runs until the benchmark ends, with
// its output and the garbage collector's trace in log, and returns its pid.
func startLogged(b *testing.B, log, bin string, args ...string) int {
	f, err := os.Create(log)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		f.Close()
	})
	return cmd.Process.Pid
}

// podStartup watches pods and records, for each, how long after its
// creationTimestamp it was first seen Running, and where that time went by
// the pod's own timestamps: when it was bound (its PodScheduled condition)
// and when its containers started (as the node agent reported). Those are
// whole seconds, as creationTimestamp; the difference between the last of
// them and the time seen is the status write and its way through the watch.
type podStartup struct {
	mu        sync.Mutex
	latencies []time.Duration // in the order seen
	scheduled []time.Duration // creationTimestamp to PodScheduled
	started   []time.Duration // creationTimestamp to the last container's startedAt
	seen      map[string]bool
}

func watchPodStartup(ctx context.Context, b *testing.B, rc *rest.Config) *podStartup {
	w := &podStartup{seen: map[string]bool{}}
	client := kubernetes.NewForConfigOrDie(rc)
	observe := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Status.Phase != corev1.PodRunning {
			return
		}
		key := pod.Namespace + "/" + pod.Name
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.seen[key] {
			return
		}
		w.seen[key] = true
		created := pod.CreationTimestamp.Time
		w.latencies = append(w.latencies, time.Since(created))
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue {
				w.scheduled = append(w.scheduled, c.LastTransitionTime.Sub(created))
			}
		}
		var last time.Time
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.State.Running != nil && cs.State.Running.StartedAt.After(last) {
				last = cs.State.Running.StartedAt.Time
			}
		}
		if !last.IsZero() {
			w.started = append(w.started, last.Sub(created))
		}
	}
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "pods", "", fields.Everything())
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw, ObjectType: &corev1.Pod{},
		Handler: cache.ResourceEventHandlerFuncs{AddFunc: observe, UpdateFunc: func(_, obj any) { observe(obj) }},
		// The store keeps only what the handler reads.
		Transform: func(obj any) (any, error) {
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				return obj, nil
			}
			kept := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, ResourceVersion: pod.ResourceVersion,
					CreationTimestamp: pod.CreationTimestamp},
				Status: corev1.PodStatus{Phase: pod.Status.Phase},
			}
			for _, c := range pod.Status.Conditions {
				if c.Type == corev1.PodScheduled {
					kept.Status.Conditions = append(kept.Status.Conditions, c)
				}
			}
			for _, cs := range pod.Status.ContainerStatuses {
				kept.Status.ContainerStatuses = append(kept.Status.ContainerStatuses, corev1.ContainerStatus{State: cs.State})
			}
			return kept, nil
		},
	})
	go ctrl.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), ctrl.HasSynced) {
		b.Fatal("pod watch did not sync")
	}
	return w
}

func (w *podStartup) running() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.latencies)
}

// p99Since is the 99th percentile of the latencies recorded after the
// first n, and how many those are.
func (w *podStartup) p99Since(n int) (time.Duration, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, p99, count := durationPercentiles(w.latencies[min(n, len(w.latencies)):])
	return p99, count
}

// percentiles are the p50 and p99 of the times to Running seen in the watch.
func (w *podStartup) percentiles() (p50, p99 time.Duration, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return durationPercentiles(w.latencies)
}

// phases are the p50 and p99 of the pods' own timestamps: created to
// scheduled and created to containers started.
func (w *podStartup) phases() (scheduled, started [2]time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	scheduled[0], scheduled[1], _ = durationPercentiles(w.scheduled)
	started[0], started[1], _ = durationPercentiles(w.started)
	return scheduled, started
}

func durationPercentiles(d []time.Duration) (p50, p99 time.Duration, n int) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	l := slices.Clone(d)
	slices.Sort(l)
	return l[percentileIndex(len(l), 0.5)], l[percentileIndex(len(l), 0.99)], len(l)
}

func percentileIndex(n int, q float64) int {
	return min(n-1, int(math.Ceil(q*float64(n)))-1)
}

// histograms are apiserver_request_duration_seconds's cumulative bucket
// counts by verb, resource and scope, summed over the other labels.
type histograms map[histKey]map[float64]float64

// scrapeHistograms reads apiserver_request_duration_seconds from the
// server's /metrics.
func scrapeHistograms(b *testing.B, client kubernetes.Interface) histograms {
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("metrics: %v", err)
	}
	return parseHistograms(body)
}

func parseHistograms(body []byte) histograms {
	h := histograms{}
	eachSample(body, "apiserver_request_duration_seconds_bucket", func(labels map[string]string, v float64) {
		le, err := strconv.ParseFloat(labels["le"], 64)
		if err != nil {
			return
		}
		if labels["verb"] == "WATCH" || labels["verb"] == "CONNECT" {
			return // long-running: no latency SLO
		}
		res := labels["resource"]
		if labels["subresource"] != "" {
			res += "/" + labels["subresource"]
		}
		k := histKey{verb: labels["verb"], resource: res, scope: labels["scope"]}
		if h[k] == nil {
			h[k] = map[float64]float64{}
		}
		h[k][le] += v
	})
	return h
}

// eachSample calls fn with the labels and value of each sample of the metric
// name in a Prometheus text exposition.
func eachSample(body []byte, name string, fn func(labels map[string]string, v float64)) {
	prefix := name + "{"
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[len(prefix):end], ",") {
			if k, val, ok := strings.Cut(kv, "="); ok {
				labels[k] = strings.Trim(val, `"`)
			}
		}
		fn(labels, v)
	}
}

// apiLatencies are the p99 latencies of the calls made between two scrapes,
// slowest first, interpolated within buckets as Prometheus's
// histogram_quantile does.
func apiLatencies(now, before histograms) []apiLatency {
	var out []apiLatency
	for k, buckets := range now {
		les := make([]float64, 0, len(buckets))
		for le := range buckets {
			les = append(les, le)
		}
		sort.Float64s(les)
		counts := make([]float64, len(les))
		for i, le := range les {
			counts[i] = buckets[le] - before[k][le]
		}
		total := counts[len(counts)-1]
		if total <= 0 {
			continue
		}
		rank := 0.99 * total
		p99 := math.Inf(1)
		for i, c := range counts {
			if c < rank {
				continue
			}
			if math.IsInf(les[i], 1) {
				break
			}
			lo, below := 0.0, 0.0
			if i > 0 {
				lo, below = les[i-1], counts[i-1]
			}
			p99 = lo + (les[i]-lo)*(rank-below)/(c-below)
			break
		}
		out = append(out, apiLatency{key: k, count: total, p99: p99})
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := out[i].p99/out[i].key.slo(), out[j].p99/out[j].key.slo()
		if ri != rj {
			return ri > rj
		}
		return out[i].key.String() < out[j].key.String()
	})
	return out
}

func fmtSeconds(s float64) string {
	if math.IsInf(s, 1) {
		return ">60s"
	}
	if s < 1 {
		return fmt.Sprintf("%.0fms", s*1000)
	}
	return fmt.Sprintf("%.2fs", s)
}

// saveProfile saves a pprof profile: from the API server's secure port
// (behind authentication and authorization) through client, or over plain
// HTTP from a component's profiling address through hc.
func saveProfile(b *testing.B, client kubernetes.Interface, hc *http.Client, path, file string) {
	var data []byte
	var err error
	if client != nil {
		pathOnly, query, _ := strings.Cut(path, "?")
		req := client.CoreV1().RESTClient().Get().AbsPath(pathOnly).Timeout(5 * time.Minute)
		if query != "" {
			k, v, _ := strings.Cut(query, "=")
			req = req.Param(k, v)
		}
		data, err = req.DoRaw(context.Background())
	} else {
		var resp *http.Response
		if resp, err = hc.Get(path); err == nil {
			data, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
	}
	if err == nil {
		err = os.WriteFile(file, data, 0o644)
	}
	if err != nil {
		b.Logf("profile %s: %v", path, err)
	}
}

// etcdDBMiB is the size of the embedded etcd's database file under dir.
func etcdDBMiB(b *testing.B, dir string) float64 {
	var size int64
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "db" && filepath.Base(filepath.Dir(path)) == "snap" {
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return nil
	})
	return float64(size) / (1 << 20)
}

// memAvailableMiB is the machine's MemAvailable.
func memAvailableMiB(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return math.Inf(1)
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(data))
	return "load average " + strings.Join(f[:3], " ")
}

// progress prints a line as the run goes (a benchmark's log waits until it
// ends).
func progress(b *testing.B, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scale: "+format+"\n", args...)
}

func (r *scaleResult) markdown(cfg scaleConfig) string {
	var s strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	p("### Scale run %s", r.started.UTC().Format("2006-01-02 15:04 UTC"))
	p("")
	p("%d simulated nodes (one `kubelite nodeagent`), target %d pods in Deployments of %d at %d pods/s in %d namespaces.",
		cfg.nodes, cfg.pods, cfg.size, cfg.rate, cfg.namespaces)
	p("")
	if r.stopped != "" {
		p("**Stopped early: %s.**", r.stopped)
		p("")
	}
	p("| | |")
	p("| --- | --- |")
	p("| nodes Ready after start | %d of %d after %v |", r.readyNodes, cfg.nodes, r.nodesReady.Round(time.Second))
	p("| pods created / Running | %d / %d |", r.created, r.running)
	p("| time from the first Deployment to the end | %v |", r.took.Round(time.Second))
	p("| pod startup (created → Running in a watch) p50 / p99 | %v / %v (%d pods; SLO p99 5 s) |",
		r.startupP50.Round(time.Millisecond), r.startupP99.Round(time.Millisecond), r.startupSamples)
	p("| of which, by the pods' own timestamps (whole seconds): created → scheduled, → containers started, p50 / p99 | %v / %v, %v / %v |",
		r.toScheduled[0], r.toScheduled[1], r.toStarted[0], r.toStarted[1])
	p("| server RSS peak / end (peak live heap) | %.0f / %.0f MiB (%.0f MiB) |", r.serverPeakMiB, r.serverEndMiB, r.serverHeapMiB)
	p("| node agent RSS peak / end (peak live heap) | %.0f / %.0f MiB (%.0f MiB) |", r.agentPeakMiB, r.agentEndMiB, r.agentHeapMiB)
	if r.running > 0 {
		p("| per 1,000 Running pods: server / agent RSS at the end | %.1f / %.1f MiB |",
			r.serverEndMiB/float64(r.running)*1000, r.agentEndMiB/float64(r.running)*1000)
	}
	p("| etcd database | %.0f MiB |", r.etcdDBMiB)
	p("| %s at the end | |", r.load)
	p("")
	p("API call latency p99 over the run (apiserver_request_duration_seconds; SLO 1 s single object, 5 s namespace list, 30 s cluster list):")
	p("")
	p("| call | calls | p99 | SLO |")
	p("| --- | ---: | ---: | ---: |")
	for i, l := range r.api {
		if i >= 25 {
			p("| (%d more, all faster relative to their SLO) | | | |", len(r.api)-i)
			break
		}
		mark := ""
		if l.p99 > l.key.slo() {
			mark = " **missed**"
		}
		p("| %s | %d | %s%s | %gs |", l.key, int(l.count), fmtSeconds(l.p99), mark, l.key.slo())
	}
	p("")
	codes := func(title string, cs []codeCount) {
		if len(cs) == 0 {
			p("%s: none.", title)
			p("")
			return
		}
		p("%s:", title)
		p("")
		p("| call | code | count |")
		p("| --- | --- | ---: |")
		for i, c := range cs {
			if i >= 15 {
				p("| (%d more) | | |", len(cs)-i)
				break
			}
			p("| %s | %s | %d |", c.call, c.code, c.n)
		}
		p("")
	}
	codes("Requests that failed (429, 5xx) while the nodes registered", r.nodeCodes)
	codes("Requests that failed (429, 5xx) over the whole run", r.codes)
	if len(r.breaches) == 0 {
		p("No SLO was missed in any minute of the run.")
	} else {
		p("SLOs missed, minute by minute (first first):")
		p("")
		for i, br := range r.breaches {
			if i >= 15 {
				p("- ... %d more", len(r.breaches)-i)
				break
			}
			p("- at %v (%d pods Running): %s", br.at.Round(time.Second), br.pods, br.what)
		}
	}
	return s.String()
}

// TestAPILatencies checks the p99 the scale report computes from two
// scrapes of apiserver_request_duration_seconds: only the calls between
// them count, interpolated within their bucket; past the last bucket is
// +Inf; watches are left out; the slowest relative to its SLO comes first.
func TestAPILatencies(t *testing.T) {
	scrape := func(getFast, getSlow, listFast, listSlow, watch int) histograms {
		var s strings.Builder
		line := func(verb, scope, le string, n int) {
			fmt.Fprintf(&s, "apiserver_request_duration_seconds_bucket{component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"pods\",scope=%q,subresource=\"\",verb=%q,version=\"v1\",le=%q} %d\n", scope, verb, le, n)
		}
		line("GET", "resource", "0.1", getFast)
		line("GET", "resource", "1", getFast)
		line("GET", "resource", "2", getFast+getSlow)
		line("GET", "resource", "+Inf", getFast+getSlow)
		line("LIST", "cluster", "60", listFast)
		line("LIST", "cluster", "+Inf", listFast+listSlow)
		line("WATCH", "cluster", "+Inf", watch)
		s.WriteString("apiserver_request_total{verb=\"GET\"} 3\n")
		return parseHistograms([]byte(s.String()))
	}
	before := scrape(1000, 1000, 7, 0, 5)
	// Since before: 98 fast GETs and 2 slow (1-2 s) ones; one LIST past 60 s.
	now := scrape(1098, 1002, 7, 1, 9)
	got := apiLatencies(now, before)
	if len(got) != 2 {
		t.Fatalf("got %d latencies, want 2 (GET and LIST, no WATCH): %v", len(got), got)
	}
	list, get := got[0], got[1]
	if list.key != (histKey{"LIST", "pods", "cluster"}) || !math.IsInf(list.p99, 1) || list.count != 1 {
		t.Errorf("first: got %+v, want the LIST past the last bucket (+Inf), 1 call", list)
	}
	// Rank 99 of 100 falls in the (1, 2] bucket, the first of its two calls:
	// 1 + (99-98)/2 = 1.5 s.
	if get.key != (histKey{"GET", "pods", "resource"}) || get.count != 100 || math.Abs(get.p99-1.5) > 1e-9 {
		t.Errorf("second: got %+v, want GET pods, 100 calls, p99 1.5s", get)
	}
	if get.key.slo() != 1 || list.key.slo() != 30 || (histKey{"LIST", "pods", "namespace"}).slo() != 5 {
		t.Error("SLOs: want 1 s single object, 30 s cluster list, 5 s namespace list")
	}
}

// codeCount is how many calls of one verb and resource got one status code.
type codeCount struct {
	call, code string
	n          int
}

// requestCodes reads apiserver_request_total by verb, resource and code.
func requestCodes(b *testing.B, client kubernetes.Interface) map[[2]string]int {
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("metrics: %v", err)
	}
	out := map[[2]string]int{}
	eachSample(body, "apiserver_request_total", func(labels map[string]string, v float64) {
		call := labels["verb"] + " " + labels["resource"]
		if labels["subresource"] != "" {
			call += "/" + labels["subresource"]
		}
		out[[2]string{call, labels["code"]}] += int(v)
	})
	return out
}

// diffCodes are the failed calls (429 and 5xx) between two readings, most
// first.
func diffCodes(now, before map[[2]string]int) []codeCount {
	var out []codeCount
	for k, n := range now {
		if d := n - before[k]; d > 0 && (k[1] == "429" || strings.HasPrefix(k[1], "5")) {
			out = append(out, codeCount{call: k[0], code: k[1], n: d})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].call+out[i].code < out[j].call+out[j].code
	})
	return out
}

// countReadyNodes waits up to timeout for want nodes to be Ready and
// returns how many are when it stops waiting.
func countReadyNodes(ctx context.Context, b *testing.B, client kubernetes.Interface, want int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	ready := 0
	for {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err == nil {
			ready = 0
			for _, n := range list.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready >= want || time.Now().After(deadline) {
			return ready
		}
		progress(b, "%d of %d nodes Ready; %s", ready, want, loadAverage())
		time.Sleep(15 * time.Second)
	}
}
