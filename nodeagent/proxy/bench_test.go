package proxy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubelite/kubelite/nodeagent/podnet/nettest"
)

// benchServices is how many Services BenchmarkProxySync programs.
const benchServices = 1000

// benchCluster is benchServices ClusterIP Services (every fourth also a
// NodePort, every tenth with session affinity), each with three endpoints.
func benchCluster() ([]*corev1.Service, []*discoveryv1.EndpointSlice) {
	var services []*corev1.Service
	var es []*discoveryv1.EndpointSlice
	for i := range benchServices {
		s := svc(fmt.Sprintf("ns-%d", i%20), fmt.Sprintf("svc-%d", i), fmt.Sprintf("10.96.%d.%d", i/250+10, i%250+1), "http:80")
		if i%4 == 0 {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = int32(30000 + i)
		}
		if i%10 == 0 {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		}
		services = append(services, s)
		es = append(es, slice(s, "http", 8080, corev1.ProtocolTCP,
			ep(fmt.Sprintf("10.42.%d.%d", i%200, i/200+2)), ep(fmt.Sprintf("10.43.%d.%d", i%200, i/200+2)), ep(fmt.Sprintf("10.44.%d.%d", i%200, i/200+2))))
	}
	return services, es
}

// BenchmarkProxySync is the time from an EndpointSlice change (one
// endpoint of one of 1,000 Services replaced) to the proxy's rules for it
// applied by the real nft in a network namespace of the benchmark's own:
// the informer's event, the whole ruleset's computation, the difference
// and the nft transaction. Syncs are not rate limited here
// (MinSyncInterval < 0): with the default, a change after a quiet second
// is applied at once and bursts wait for one sync. Reported: p50 and p99
// in milliseconds, and the first full sync.
func BenchmarkProxySync(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root for a network namespace")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		b.Skipf("needs nft: %v", err)
	}
	host := nettest.NewHosts(b, 1)[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	services, es := benchCluster()
	client := fake.NewClientset()
	for _, s := range services {
		if _, err := client.CoreV1().Services(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, e := range es {
		if _, err := client.DiscoveryV1().EndpointSlices(e.Namespace).Create(ctx, e, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	p, err := New(Config{
		NodeName:        testNode,
		Services:        factory.Core().V1().Services(),
		EndpointSlices:  factory.Discovery().V1().EndpointSlices(),
		ClusterCIDRs:    []string{"10.40.0.0/13"},
		MinSyncInterval: -1,
		NetNS:           host.Path,
	})
	if err != nil {
		b.Fatal(err)
	}
	// afterSync runs in the proxy's goroutine: it reports each applied
	// sync, and whether the chain named by wantChain ends in wantRule.
	synced := make(chan bool, 1)
	var wantChain, wantRule atomic.Pointer[string]
	empty := ""
	wantChain.Store(&empty)
	wantRule.Store(&empty)
	p.afterSync = func() {
		r := p.table.applied.chains[*wantChain.Load()]
		select {
		case synced <- len(r) > 0 && r[len(r)-1] == *wantRule.Load():
		case <-ctx.Done():
		}
	}
	factory.Start(ctx.Done())
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-synced
	first := time.Since(start)

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e := es[i%len(es)].DeepCopy()
		e.Endpoints[0].Addresses = []string{fmt.Sprintf("10.45.%d.%d", i/250%250, i%250+1)}
		es[i%len(es)] = e
		chain := "endpoint-" + e.Namespace + "/" + e.Labels[discoveryv1.LabelServiceName] + "/tcp/80__" + e.Endpoints[0].Addresses[0] + "/8080"
		rule := fmt.Sprintf("meta l4proto tcp dnat to %s:8080", e.Endpoints[0].Addresses[0])
		wantChain.Store(&chain)
		wantRule.Store(&rule)
		t0 := time.Now()
		if _, err := client.DiscoveryV1().EndpointSlices(e.Namespace).Update(ctx, e, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		// Wait for the sync that holds this change.
		for !<-synced {
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(first.Milliseconds()), "first-sync-ms")
}
