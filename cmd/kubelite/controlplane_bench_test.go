package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// BenchmarkControlPlane compares the whole control plane, started on an empty
// data dir: the kubelite server all-in-one (embedded etcd, API server,
// controllers, scheduler, and one simulated node: --simulated-nodes 1) against
// upstream etcd, kube-apiserver, kube-controller-manager and kube-scheduler
// v1.37.2 (conformance/tools/build.sh builds them into .cache/bin), with one
// simulated node hosted by `kubelite nodeagent --simulated-nodes 1`, so that
// both sides run the same node agent.
//
// Reported per side:
//   - ms-to-ready: from the first exec (the kubelite server; upstream's etcd) to
//     /readyz ok (kubelite: its "is ready" line, printed once /readyz is ok);
//     upstream starts etcd, waits for its port, then starts the other three at
//     once, as static pods would, with kubeadm's certificates made beforehand;
//   - ms-to-node-Ready: from the same exec until the node is Ready. Both sides
//     start the node once the API server is ready (kubelite's server does so
//     in-process; upstream's agent is exec'd then);
//   - CPU-s-to-ready, CPU-s-to-node-Ready: the CPU seconds the control
//     plane's processes used until then (upstream's without the agent's). On
//     a busy machine the times above mostly measure the share of the CPU a
//     side got, and four processes get more of it than one; the CPU time
//     hardly depends on the load;
//   - MiB-RSS-idle: the control plane's resident memory summed over its
//     processes (kubelite: the server, its simulated node included; upstream:
//     etcd, kube-apiserver, kube-controller-manager, kube-scheduler, without
//     the node agent) KUBELITE_CP_IDLE_SECONDS (default 60) after the node was
//     Ready;
//   - MiB-RSS-10k-objects: the same once KUBELITE_CP_OBJECTS (default 10,000)
//     ConfigMaps of 1 KiB were created (32 clients) and 15 s passed, and the
//     rate they were created at.
//
// The times and CPU seconds to ready are the medians of KUBELITE_CP_STARTS
// (default 5) starts of each side, one after the other (a single start varies
// by a quarter or more); the memory is measured on the last of them.
//
// Run it with -benchtime 1x; each iteration starts both anew.
func BenchmarkControlPlane(b *testing.B) {
	idle := time.Duration(envInt(b, "KUBELITE_CP_IDLE_SECONDS", 60)) * time.Second
	objects := envInt(b, "KUBELITE_CP_OBJECTS", 10000)
	bin := kubeliteBin(b)
	etcdBin, apiserverBin := upstreamBins(b)
	kcmBin, schedBin := upstreamControllerBins()
	if kcmBin == "" {
		b.Skip("no upstream kube-controller-manager and kube-scheduler (conformance/tools/build.sh builds them)")
	}
	starts := envInt(b, "KUBELITE_CP_STARTS", 5)
	// measure starts a side's control plane starts times, reports the medians
	// of their start-up figures, and measures the last one's memory.
	measure := func(b *testing.B, start func() *controlPlane) {
		var ready, nodeReady, cpuReady, cpuNodeReady []float64
		var cp *controlPlane
		for i := range starts {
			cp = start()
			ready = append(ready, float64(cp.ready.Milliseconds()))
			nodeReady = append(nodeReady, float64(cp.nodeReady.Milliseconds()))
			cpuReady = append(cpuReady, cp.cpuReady)
			cpuNodeReady = append(cpuNodeReady, cp.cpuNodeReady)
			b.Logf("start %d: ready %v, node Ready %v", i+1, cp.ready, cp.nodeReady)
			if i < starts-1 {
				cp.stop()
			}
		}
		defer cp.stop()
		b.ReportMetric(median(ready), "ms-to-ready")
		b.ReportMetric(median(nodeReady), "ms-to-node-Ready")
		b.ReportMetric(median(cpuReady), "CPU-s-to-ready")
		b.ReportMetric(median(cpuNodeReady), "CPU-s-to-node-Ready")
		time.Sleep(idle)
		rss, anon := cp.rssMiB(b)
		b.ReportMetric(rss, "MiB-RSS-idle")
		b.ReportMetric(anon, "MiB-RSS-anon-idle")
		rate := createConfigMaps(b, cp.config, objects, 1024)
		b.ReportMetric(rate, "creates/s")
		time.Sleep(15 * time.Second)
		rss, anon = cp.rssMiB(b)
		b.ReportMetric(rss, "MiB-RSS-10k-objects")
		b.ReportMetric(anon, "MiB-RSS-anon-10k-objects")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("upstream", func(b *testing.B) {
		for range b.N {
			measure(b, func() *controlPlane {
				return startUpstreamControlPlane(b, etcdBin, apiserverBin, kcmBin, schedBin, bin)
			})
		}
	})
	b.Run("kubelite", func(b *testing.B) {
		for range b.N {
			measure(b, func() *controlPlane {
				c, took := startKubelite(b, bin, "--simulated-nodes", "1")
				cpuReady := c.cpuSeconds(b)
				nodeReady := took + waitNodesReady(b, c.config, 1, 2*time.Minute)
				return &controlPlane{cluster: c, ready: took, nodeReady: nodeReady, cpuReady: cpuReady, cpuNodeReady: c.cpuSeconds(b)}
			})
		}
	})
}

// median is the middle of xs (the mean of the two middle ones for an even
// count); xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// controlPlane is a started control plane with its times to ready.
type controlPlane struct {
	*cluster
	// ready is from the first exec to /readyz ok, nodeReady to the first
	// node Ready.
	ready, nodeReady time.Duration
	// cpuReady and cpuNodeReady are the CPU seconds the control plane's
	// processes had used by then: unlike the times, they hardly depend on
	// what else the machine runs.
	cpuReady, cpuNodeReady float64
}

// cpuSeconds is the CPU time the cluster's processes used so far.
func (c *cluster) cpuSeconds(b *testing.B) float64 {
	total := 0.0
	for _, pid := range c.pids {
		total += cpuSeconds(b, pid)
	}
	return total
}

// startUpstreamControlPlane starts etcd, then kube-apiserver,
// kube-controller-manager and kube-scheduler with the flags and credentials
// kubeadm would give them, then once /readyz is ok the kubelite node agent
// agentBin with one simulated node, and returns once that node is Ready
// (without agentBin, once /readyz is ok, with no node). The cluster's pids
// are the four control plane processes'.
func startUpstreamControlPlane(b *testing.B, etcdBin, apiserverBin, kcmBin, schedBin, agentBin string) *controlPlane {
	dir := b.TempDir()
	pki := writeUpstreamPKI(b, dir)
	clientPort, peerPort, securePort := freePort(b), freePort(b), freePort(b)
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	server := fmt.Sprintf("https://127.0.0.1:%d", securePort)
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	writeAdminKubeconfig(b, kubeconfig, server, pki)

	var mu sync.Mutex
	var stops []func()
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		stops = nil
	}
	b.Cleanup(stop)
	start := func(bin string, args ...string) *exec.Cmd {
		log, err := os.Create(filepath.Join(dir, filepath.Base(bin)+".log"))
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		stops = append(stops, func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait(); log.Close() })
		mu.Unlock()
		return cmd
	}

	dropCachedPages(b, etcdBin, apiserverBin, kcmBin, schedBin)
	if agentBin != "" {
		dropCachedPages(b, agentBin)
	}
	t0 := time.Now()
	etcd := start(etcdBin, "--data-dir", filepath.Join(dir, "etcd"), "--name", "default",
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--log-level", "error")
	waitFor(b, filepath.Join(dir, "etcd.log"), func() bool {
		body, err := httpGet(clientURL + "/health")
		return err == nil && strings.Contains(body, `"health":"true"`)
	})
	api := start(apiserverBin,
		"--etcd-servers", clientURL, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(securePort),
		"--tls-cert-file", pki.servingCert, "--tls-private-key-file", pki.servingKey,
		"--client-ca-file", pki.caFile, "--authorization-mode", "Node,RBAC",
		"--enable-admission-plugins", "NodeRestriction",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", pki.saKeyFile, "--service-account-signing-key-file", pki.saKeyFile,
		"--service-cluster-ip-range", "10.96.0.0/12",
		// Loopback addresses are not allowed in the kubernetes endpoints.
		"--endpoint-reconciler-type", "none")
	common := []string{"--kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--bind-address", "127.0.0.1", "--leader-elect=false"}
	kcm := start(kcmBin, append(common, "--secure-port", strconv.Itoa(freePort(b)),
		"--cert-dir", filepath.Join(dir, "kcm-certs"),
		"--root-ca-file", pki.caFile, "--service-account-private-key-file", pki.saKeyFile,
		"--cluster-signing-cert-file", pki.caFile, "--cluster-signing-key-file", pki.caKey,
		"--use-service-account-credentials", "--controllers", "*,bootstrapsigner,tokencleaner")...)
	sched := start(schedBin, append(common, "--secure-port", strconv.Itoa(freePort(b)))...)

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	waitFor(b, filepath.Join(dir, "kube-apiserver.log"), func() bool {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		return err == nil && string(body) == "ok"
	})
	ready := time.Since(t0)
	c := &cluster{config: cfg, pids: []int{etcd.Process.Pid, api.Process.Pid, kcm.Process.Pid, sched.Process.Pid}, stop: stop}
	cpuReady := c.cpuSeconds(b)
	if agentBin == "" {
		return &controlPlane{cluster: c, ready: ready, cpuReady: cpuReady}
	}
	start(agentBin, "nodeagent", "--kubeconfig", kubeconfig, "--simulated-nodes", "1",
		"--simulated-node-shared-identity", "-v=0")
	waitNodesReady(b, cfg, 1, 2*time.Minute)
	return &controlPlane{cluster: c, ready: ready, nodeReady: time.Since(t0), cpuReady: cpuReady, cpuNodeReady: c.cpuSeconds(b)}
}

// writeAdminKubeconfig writes a kubeconfig for server with the admin
// certificate of p, trusting p's CA.
func writeAdminKubeconfig(b *testing.B, path, server string, p upstreamPKI) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["bench"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: p.caFile}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificate: p.adminCert, ClientKey: p.adminKey}
	cfg.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "admin"}
	cfg.CurrentContext = "bench"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		b.Fatal(err)
	}
}

// createConfigMaps creates n ConfigMaps of size bytes of data in a namespace
// of their own, from 32 clients, and returns the creates per second.
func createConfigMaps(b *testing.B, cfg *rest.Config, n, size int) float64 {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-objects-"}}
	ns, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	data := strings.Repeat("x", size)
	work := make(chan int)
	var wg sync.WaitGroup
	var failed sync.Once
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for i := range work {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i)},
					Data: map[string]string{"data": data}}
				if _, err := client.CoreV1().ConfigMaps(ns.Name).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					failed.Do(func() { b.Errorf("create: %v", err) })
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
	return float64(n) / time.Since(start).Seconds()
}

// httpGet returns the body of a plain HTTP GET of url.
func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
