package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent/podnet/nettest"
	"github.com/kubelite/kubelite/nodeagent/proxy"
)

// upstreamServices is how many Services BenchmarkProxySyncVsUpstream
// programs, as nodeagent/proxy's BenchmarkProxySync. (It lives here, where
// the test binary links the server already, rather than beside the proxy,
// whose test binary would then link the whole server for every `go test`.)
const upstreamServices = 1000

// kubeProxyBin is upstream's kube-proxy: $KUBE_PROXY_BIN, else the binary
// cache of conformance/tools/build.sh ($KUBELITE_CACHE, else .cache/bin).
func kubeProxyBin() string {
	if p := os.Getenv("KUBE_PROXY_BIN"); p != "" {
		return p
	}
	dir := os.Getenv("KUBELITE_CACHE")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "bin")
	}
	p, _ := filepath.Abs(filepath.Join(dir, "kube-proxy"))
	return p
}

// BenchmarkProxySyncVsUpstream is nodeagent/proxy's BenchmarkProxySync measurement on both
// kubelite's proxy and upstream's kube-proxy v1.37.2 (nftables mode, built by
// `conformance/tools/build.sh kube-proxy`), in the same run, against one
// kubelite API server holding the same 1,000 Services (every fourth a
// NodePort, every tenth with session affinity) with three endpoints each.
// Each runs in a network namespace of its own, both at once, with a
// minimum sync interval of 1 ms (kube-proxy's config turns 0 into its
// default, 1 s). Each iteration replaces one endpoint of one Service through
// the API, and the time to the rules is measured the same way for both:
// from the update's call to the line of `nft monitor` in the proxy's
// namespace (ruleset changes, printed as their transaction commits) that
// names the new endpoint's address. Their first full sync is awaited by
// listing the last Service's chain.
// Reported: p50 and p99 of each in milliseconds, and kubelite's as ratios
// to upstream's (below 1 is faster).
func BenchmarkProxySyncVsUpstream(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		b.Skipf("needs nft: %v", err)
	}
	kubeProxy := kubeProxyBin()
	if _, err := os.Stat(kubeProxy); err != nil {
		b.Skipf("no upstream kube-proxy (conformance/tools/build.sh kube-proxy): %v", err)
	}
	hosts := nettest.NewHosts(b, 2)
	ours, theirs := hosts[0], hosts[1]
	s := testserver.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eps := createBenchServices(ctx, b, s.Client)
	// kube-proxy waits for its Node (for the node's addresses).
	if _, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bench-node"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}

	// kubelite's proxy, in this process.
	factory := informers.NewSharedInformerFactory(s.Client, 0)
	p, err := proxy.New(proxy.Config{
		NodeName:        "bench-node",
		Services:        factory.Core().V1().Services(),
		EndpointSlices:  factory.Discovery().V1().EndpointSlices(),
		ClusterCIDRs:    []string{"10.40.0.0/13"},
		MinSyncInterval: time.Millisecond,
		NetNS:           ours.Path,
	})
	if err != nil {
		b.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// kube-proxy, in its host, reaching the server through a forwarder
	// from the host's loopback to this process's (the same address, so
	// that the admin kubeconfig and its certificate serve unchanged).
	serverAddr := strings.TrimPrefix(s.Config.Host, "https://")
	relayInto(b, theirs, serverAddr)
	config := filepath.Join(b.TempDir(), "kube-proxy.yaml")
	if err := os.WriteFile(config, []byte(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "`+s.Kubeconfig+`"}
mode: nftables
hostnameOverride: bench-node
clusterCIDR: 10.40.0.0/13
nftables: {minSyncPeriod: 1ms}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	var logs syncBuffer
	cmd := exec.Command("nsenter", "--net="+theirs.Path, "--", kubeProxy, "--config", config)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	go func() {
		select {
		case <-exited:
			pcancel() // kube-proxy gave up: so does the benchmark
		case <-pctx.Done():
		}
	}()

	// Both have programmed every Service before the measurement: the last
	// one's chain names its first endpoint.
	type side struct {
		host     *nettest.Host
		table    string
		upstream bool
		chains   map[string]string
		monitor  *nftMonitor
	}
	sides := []*side{{host: ours, table: proxy.TableName}, {host: theirs, table: "kube-proxy", upstream: true}}
	last := eps[len(eps)-1]
	lastKey := last.Namespace + "/" + last.Labels[discoveryv1.LabelServiceName]
	for _, sd := range sides {
		err := wait.PollUntilContextTimeout(pctx, 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			var err error
			sd.chains, err = serviceChains(ctx, sd.host, sd.table)
			return err == nil && sd.chains[lastKey] != "", nil
		})
		if err == nil {
			_, _, err = waitForEndpoint(pctx, sd.host, sd.table, sd.chains[lastKey], endpointPattern(last.Endpoints[0].Addresses[0]), time.Minute)
		}
		if err != nil {
			b.Fatalf("%s: first sync: %v\n%s", sd.table, err, tailOf(logs.String()))
		}
		sd.monitor = startMonitor(pctx, b, sd.host)
	}
	time.Sleep(time.Second) // the monitors are listening

	var kubelite, upstream []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e := eps[i%len(eps)].DeepCopy()
		ip := fmt.Sprintf("10.45.%d.%d", i/250%250, i%250+1)
		e.Endpoints[0].Addresses = []string{ip}
		t0 := time.Now()
		updated, err := s.Client.DiscoveryV1().EndpointSlices(e.Namespace).Update(ctx, e, metav1.UpdateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		eps[i%len(eps)] = updated
		type result struct {
			upstream bool
			d        time.Duration
			err      error
		}
		results := make(chan result, 2)
		for _, sd := range sides {
			go func() {
				at, err := sd.monitor.wait(pctx, endpointPattern(ip), time.Minute)
				results <- result{sd.upstream, at.Sub(t0), err}
			}()
		}
		for range 2 {
			r := <-results
			if r.err != nil {
				b.Fatalf("endpoint %s (upstream %v): %v\n%s", ip, r.upstream, r.err, tailOf(logs.String()))
			}
			if r.upstream {
				upstream = append(upstream, r.d)
			} else {
				kubelite = append(kubelite, r.d)
			}
		}
	}
	b.StopTimer()
	kp50, kp99 := percentiles(kubelite)
	up50, up99 := percentiles(upstream)
	b.ReportMetric(kp50, "p50-ms")
	b.ReportMetric(kp99, "p99-ms")
	b.ReportMetric(up50, "upstream-p50-ms")
	b.ReportMetric(up99, "upstream-p99-ms")
	b.ReportMetric(kp50/up50, "p50-vs-upstream")
	b.ReportMetric(kp99/up99, "p99-vs-upstream")
}

// createBenchServices writes the benchmark's Services (selector-less, so
// that no controller touches their EndpointSlices) and slices, and returns
// the slices as stored.
func createBenchServices(ctx context.Context, b *testing.B, client kubernetes.Interface) []*discoveryv1.EndpointSlice {
	for n := range 20 {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%d", n)}}
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	out := make([]*discoveryv1.EndpointSlice, upstreamServices)
	errs := make(chan error, 16)
	work := make(chan int)
	for range 16 {
		go func() {
			for i := range work {
				errs <- createBenchService(ctx, client, i, out)
			}
		}()
	}
	go func() {
		for i := range upstreamServices {
			work <- i
		}
		close(work)
	}()
	for range upstreamServices {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	return out
}

func createBenchService(ctx context.Context, client kubernetes.Interface, i int, out []*discoveryv1.EndpointSlice) error {
	ns, name := fmt.Sprintf("ns-%d", i%20), fmt.Sprintf("svc-%d", i)
	ip := fmt.Sprintf("10.96.%d.%d", i/250+10, i%250+1)
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	if i%4 == 0 {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = int32(30000 + i)
	}
	if i%10 == 0 {
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s/%s: %w", ns, name, err)
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-http", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, prefix := range []string{"10.42", "10.43", "10.44"} {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("%s.%d.%d", prefix, i%200, i/200+2)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			NodeName:   ptr.To("other-node"),
		})
	}
	created, err := client.DiscoveryV1().EndpointSlices(ns).Create(ctx, es, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create endpoint slice %s/%s: %w", ns, es.Name, err)
	}
	out[i] = created
	return nil
}

// endpointPattern matches the endpoint ip:8080 in a listing of a proxy's
// Service's chain, followed by no further digit.
func endpointPattern(ip string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(ip) + `[^0-9]`)
}

// serviceChainRE matches a Service's chain in `nft list chains` of either
// proxy: kubelite's service-<ns>/<name>/<proto>/<port>, upstream's with a
// hash before the namespace.
var serviceChainRE = regexp.MustCompile(`chain (service-(?:[A-Z2-7]{8}-)?(ns-[0-9]+/svc-[0-9]+)/tcp/[a-z0-9]+) \{`)

// serviceChains maps "<ns>/<name>" to the name of the Service's chain in
// host's table.
func serviceChains(ctx context.Context, host *nettest.Host, table string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, "nsenter", "--net="+host.Path, "--", "nft", "list", "chains", "ip").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("nft list chains: %w: %s", err, out)
	}
	chains := map[string]string{}
	for _, m := range serviceChainRE.FindAllStringSubmatch(string(out), -1) {
		chains[m[2]] = m[1]
	}
	return chains, nil
}

// waitForEndpoint lists chain of host's table (family ip) back to back
// until it names the endpoint, and returns when that listing started and
// how long it took (the measurement's resolution).
func waitForEndpoint(ctx context.Context, host *nettest.Host, table, chain string, endpoint *regexp.Regexp, timeout time.Duration) (time.Time, time.Duration, error) {
	deadline := time.Now().Add(timeout)
	var last []byte
	for time.Now().Before(deadline) {
		at := time.Now()
		out, err := exec.CommandContext(ctx, "nsenter", "--net="+host.Path, "--", "nft", "list", "chain", "ip", table, chain).CombinedOutput()
		if err == nil && endpoint.Match(out) {
			return at, time.Since(at), nil
		}
		last = out
		if ctx.Err() != nil {
			return time.Time{}, 0, ctx.Err()
		}
	}
	return time.Time{}, 0, fmt.Errorf("chain %s of table ip %s does not name %s after %v: %s", chain, table, endpoint, timeout, tailOf(string(last)))
}

// nftMonitor is `nft monitor` in a host: each line of ruleset changes it
// prints as their transaction commits, with the time it was read.
type nftMonitor struct {
	lines chan monitorLine
}

type monitorLine struct {
	at   time.Time
	text string
}

// startMonitor starts `nft monitor` in host until ctx ends.
func startMonitor(ctx context.Context, b *testing.B, host *nettest.Host) *nftMonitor {
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+host.Path, "--", "nft", "monitor")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	m := &nftMonitor{lines: make(chan monitorLine, 1<<16)}
	go func() {
		defer func() { _ = cmd.Wait() }()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			select {
			case m.lines <- monitorLine{time.Now(), sc.Text()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return m
}

// wait reads the monitor's lines until one names endpoint, and returns
// when it was read.
func (m *nftMonitor) wait(ctx context.Context, endpoint *regexp.Regexp, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		select {
		case l := <-m.lines:
			if endpoint.MatchString(l.text + " ") {
				return l.at, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("nft monitor showed no change naming %s within %v", endpoint, timeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// relayInto accepts connections on addr in host's namespace and relays each
// to addr in this process's namespace.
func relayInto(b *testing.B, host *nettest.Host, addr string) {
	l := host.Listen(b, addr)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
}

// syncBuffer is a bytes.Buffer that a process writes to while the
// benchmark reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func percentiles(ds []time.Duration) (p50, p99 float64) {
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return ms(s[len(s)/2]), ms(s[len(s)*99/100])
}

func tailOf(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}
