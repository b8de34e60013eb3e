package proxy

import (
	"context"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/knftables"
)

// TestSyncReusesUnchangedServices: after a change of one slice, a sync
// that reuses the other Services' compiled parts leaves the table exactly
// as a sync from scratch does; and an unchanged Service is not compiled
// again.
func TestSyncReusesUnchangedServices(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skipf("New needs nft: %v", err)
	}
	a, b := svc("ns", "a", "10.96.0.71", "80"), svc("ns", "b", "10.96.0.72", "80")
	b.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	esA, esB := slice(a, "", 80, corev1.ProtocolTCP, "10.42.1.2"), slice(b, "", 80, corev1.ProtocolTCP, "10.42.1.3", "10.42.1.4")
	client := fake.NewClientset(a, b, esA, esB)
	factory := informers.NewSharedInformerFactory(client, 0)
	p, err := New(Config{NodeName: testNode, Services: factory.Core().V1().Services(), EndpointSlices: factory.Discovery().V1().EndpointSlices(), ClusterCIDRs: []string{"10.42.0.0/16"}})
	if err != nil {
		t.Fatal(err)
	}
	nft := knftables.NewFake(knftables.IPv4Family, TableName)
	p.table.nft = nft
	p.conntrack = noConntrack{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), p.synced...)
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	fragB := p.compiled["ns/b"].frags[0]

	// Change a's slice in the cache, as an update would.
	esA2 := slice(a, "", 80, corev1.ProtocolTCP, "10.42.1.9")
	if err := factory.Discovery().V1().EndpointSlices().Informer().GetIndexer().Update(esA2); err != nil {
		t.Fatal(err)
	}
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if p.compiled["ns/b"].frags[0] != fragB {
		t.Error("the unchanged Service b was compiled again")
	}
	fresh := knftables.NewFake(knftables.IPv4Family, TableName)
	want := compile(knftables.IPv4Family, clusterCIDRs, servicePorts(knftables.IPv4Family, testNode, []*corev1.Service{a, b},
		map[string][]*discoveryv1.EndpointSlice{"ns/a": {esA2}, "ns/b": {esB}}))
	if _, err := (&table{nft: fresh}).apply(ctx, want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh.Dump(), nft.Dump()); diff != "" {
		t.Errorf("cached sync differs from a fresh one (-fresh +cached):\n%s", diff)
	}
}

type noConntrack struct{}

func (noConntrack) clearUDP([]udpFlow) error { return nil }
