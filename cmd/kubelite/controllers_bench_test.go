package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	watchtools "k8s.io/client-go/tools/watch"
)

// BenchmarkDeploymentReady measures the controller manager and scheduler
// together: on a kubelite API server with KUBELITE_DEPLOY_NODES simulated
// nodes (default 100, hosted by `kubelite nodeagent`), one Deployment of
// KUBELITE_DEPLOY_REPLICAS replicas (default 5,000) is created, and the time
// until all its replicas are Ready is reported, with the API requests the
// server served meanwhile per replica (controllers, scheduler and node
// agent together).
//
// The server runs with --disable=scheduler,controller-manager; the
// controllers and scheduler run as processes of their own with the same
// client QPS and burst (KUBELITE_CONTROLLER_QPS, default 100; burst twice
// that): kubelite's `controller-manager` and `scheduler`, then, on a fresh
// server with the same nodes, upstream's kube-controller-manager and
// kube-scheduler v1.37.2 (conformance/tools/build.sh builds them into
// .cache/bin; KUBE_CONTROLLER_MANAGER_BIN and KUBE_SCHEDULER_BIN override).
// Ratios below 1 mean kubelite is faster or makes fewer requests.
func BenchmarkDeploymentReady(b *testing.B) {
	replicas := envInt(b, "KUBELITE_DEPLOY_REPLICAS", 5000)
	nodes := envInt(b, "KUBELITE_DEPLOY_NODES", 100)
	qps := envInt(b, "KUBELITE_CONTROLLER_QPS", 100)
	limits := []string{"--kube-api-qps", strconv.Itoa(qps), "--kube-api-burst", strconv.Itoa(2 * qps)}
	bin := kubeliteBin(b)
	kcm, sched := upstreamControllerBins()
	for range b.N {
		took, requests := deploymentReady(b, bin, "kubelite", nodes, replicas, func(server *cluster) [][]string {
			kubeconfig := filepath.Join(server.dataDir, "kubeconfig")
			return [][]string{
				append([]string{bin, "controller-manager", "--kubeconfig", kubeconfig, "--leader-elect=false"}, limits...),
				append([]string{bin, "scheduler", "--kubeconfig", kubeconfig, "--leader-elect=false"}, limits...),
			}
		})
		b.ReportMetric(took.Seconds(), "s-to-all-Ready")
		b.ReportMetric(float64(requests)/float64(replicas), "API-requests-per-pod")
		b.ReportMetric(0, "ns/op")
		if kcm == "" {
			b.Logf("no upstream kube-controller-manager and kube-scheduler (conformance/tools/build.sh builds them): no ratio")
			continue
		}
		upTook, upRequests := deploymentReady(b, bin, "upstream", nodes, replicas, func(server *cluster) [][]string {
			kubeconfig := filepath.Join(server.dataDir, "kubeconfig")
			dir := b.TempDir()
			return [][]string{
				append([]string{kcm, "--kubeconfig", kubeconfig,
					"--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
					"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(freePort(b)), "--cert-dir", dir,
					"--root-ca-file", filepath.Join(server.dataDir, "pki", "ca.crt"), "--leader-elect=false"}, limits...),
				append([]string{sched, "--kubeconfig", kubeconfig,
					"--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
					"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(freePort(b)), "--leader-elect=false"}, limits...),
			}
		})
		b.ReportMetric(upTook.Seconds(), "upstream-s-to-all-Ready")
		b.ReportMetric(float64(upRequests)/float64(replicas), "upstream-API-requests-per-pod")
		b.ReportMetric(took.Seconds()/upTook.Seconds(), "ratio-time")
		b.ReportMetric(float64(requests)/float64(upRequests), "ratio-requests")
	}
}

// upstreamControllerBins are upstream's kube-controller-manager and
// kube-scheduler if both are built, else empty strings.
func upstreamControllerBins() (kcm, sched string) {
	dir := os.Getenv("KUBELITE_CACHE")
	if dir == "" {
		dir = "../../.cache/bin"
	}
	kcm, sched = os.Getenv("KUBE_CONTROLLER_MANAGER_BIN"), os.Getenv("KUBE_SCHEDULER_BIN")
	if kcm == "" {
		kcm = filepath.Join(dir, "kube-controller-manager")
	}
	if sched == "" {
		sched = filepath.Join(dir, "kube-scheduler")
	}
	for _, p := range []*string{&kcm, &sched} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return "", ""
		}
		if _, err := os.Stat(abs); err != nil {
			return "", ""
		}
		*p = abs
	}
	return kcm, sched
}

// deploymentReady starts a server without scheduler and controllers, nodes
// simulated nodes, and the processes that components names (given the
// server; name says whose they are), creates a Deployment of replicas pods, and returns how long after
// the create all were Ready and how many API requests the server served
// meanwhile.
func deploymentReady(b *testing.B, bin, name string, nodes, replicas int, components func(*cluster) [][]string) (time.Duration, int) {
	server, _ := startKubelite(b, bin, "--disable=scheduler,controller-manager")
	kubeconfig := filepath.Join(server.dataDir, "kubeconfig")
	startProcess(b, bin, "nodeagent", "--kubeconfig", kubeconfig, "--simulated-nodes", strconv.Itoa(nodes), "-v=0")
	waitNodesReady(b, server.config, nodes, 5*time.Minute)
	for _, args := range components(server) {
		startProcess(b, args[0], args[1:]...)
	}
	cfg := rest.CopyConfig(server.config)
	cfg.QPS, cfg.Burst = 100, 200
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	// Pods are admitted once the service account controller has made the
	// namespace's default account.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		b.Fatalf("no default service account: %v", err)
	}

	before := apiRequests(b, client)
	d := pauseDeployment("", "bench", replicas, "10m", "16Mi")
	start := time.Now()
	created, err := client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// One watch, so that the benchmark's own requests do not count.
	var ready int32
	w, err := client.AppsV1().Deployments("default").Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=bench", ResourceVersion: created.ResourceVersion})
	if err != nil {
		b.Fatal(err)
	}
	_, err = watchtools.UntilWithoutRetry(ctx, w, func(e watch.Event) (bool, error) {
		got, ok := e.Object.(*appsv1.Deployment)
		if !ok {
			return false, fmt.Errorf("watch: %v", e.Object)
		}
		ready = got.Status.ReadyReplicas
		return got.Status.ObservedGeneration >= got.Generation && ready == int32(replicas) &&
			got.Status.UpdatedReplicas == int32(replicas), nil
	})
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%d of %d replicas Ready after %v", ready, replicas, took)
	}
	after := apiRequests(b, client)
	total := 0
	type count struct {
		key string
		n   int
	}
	var counts []count
	for k, n := range after {
		if d := n - before[k]; d > 0 {
			total += d
			counts = append(counts, count{k, d})
		}
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i].n > counts[j].n })
	var top []string
	for _, c := range counts[:min(8, len(counts))] {
		top = append(top, fmt.Sprintf("%s=%d", c.key, c.n))
	}
	b.Logf("%s: %d replicas on %d nodes Ready after %v, %d API requests (%s)",
		name, replicas, nodes, took, total, strings.Join(top, " "))
	server.stop()
	return took, total
}

// apiRequests reads apiserver_request_total from the server's metrics,
// summed per verb, resource and subresource.
func apiRequests(b *testing.B, client kubernetes.Interface) map[string]int {
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("metrics: %v", err)
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[len("apiserver_request_total{"):end], ",") {
			if k, val, ok := strings.Cut(kv, "="); ok {
				labels[k] = strings.Trim(val, `"`)
			}
		}
		key := labels["verb"] + " " + labels["resource"]
		if labels["subresource"] != "" {
			key += "/" + labels["subresource"]
		}
		counts[key] += int(v)
	}
	return counts
}

// startProcess starts a component that runs until the benchmark ends; its
// output goes to a file in the benchmark's temp dir, named in a failure.
func startProcess(b *testing.B, bin string, args ...string) {
	log, err := os.CreateTemp(b.TempDir(), filepath.Base(bin)+"-*.log")
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		log.Close()
	})
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

// pauseDeployment is a Deployment of replicas pause pods that request cpu and
// memory, for benchmarks on simulated nodes.
func pauseDeployment(ns, name string, replicas int, cpu, memory string) *appsv1.Deployment {
	d := testserver.Deployment(ns, name, int32(replicas), "registry.k8s.io/pause:3.10")
	d.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}
	return d
}
