package netpol

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"sigs.k8s.io/knftables"
)

// countingNFT counts the transactions sent.
type countingNFT struct {
	*knftables.Fake
	runs atomic.Int32
}

func (c *countingNFT) Run(ctx context.Context, tx *knftables.Transaction) error {
	c.runs.Add(1)
	return c.Fake.Run(ctx, tx)
}

// TestEnforcerRun drives the enforcer through informers: it follows pods
// and policies, and batches a burst of changes into few transactions.
func TestEnforcerRun(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"team": "a"}}},
		a1, a2, a3,
		policy("a", "deny", "app=web", nil),
	)
	nft := &countingNFT{Fake: knftables.NewFake(knftables.InetFamily, TableName)}
	factory := informers.NewSharedInformerFactory(client, 0)
	const interval = 300 * time.Millisecond
	e, err := New(Config{
		NodeName:        node,
		Pods:            factory.Core().V1().Pods(),
		Namespaces:      factory.Core().V1().Namespaces(),
		Policies:        factory.Networking().V1().NetworkPolicies(),
		NFT:             nft,
		MinSyncInterval: interval,
	})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done; factory.Shutdown() }()

	verdictIs := func(p packet, want string) func() bool {
		return func() bool {
			nft.RLock()
			defer nft.RUnlock()
			return nft.Tables[knftables.InetFamily][TableName] != nil && verdict(t, nft.Fake, p) == want
		}
	}
	waitFor(t, "a1 isolated", verdictIs(packet{src: "10.42.0.3", dst: "10.42.0.2", proto: "tcp", port: 80}, "drop"))
	first := nft.runs.Load()

	// A burst of 20 new pods and a policy letting them in.
	if _, err := client.NetworkingV1().NetworkPolicies("a").Create(ctx, policy("a", "burst", "app=web", allowFrom(peer("app=burst"))), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := client.CoreV1().Pods("a").Create(ctx, pod("a", fmt.Sprintf("burst-%d", i), "n2", "app=burst", "", fmt.Sprintf("10.42.9.%d", i+1)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the last burst pod allowed", verdictIs(packet{src: "10.42.9.20", dst: "10.42.0.2", proto: "tcp", port: 80}, "accept"))
	if n := nft.runs.Load() - first; n > 3 {
		t.Errorf("a burst of 21 changes took %d transactions, want at most 3 (one per %v)", n, interval)
	}

	// An update that does not touch what rules read sends nothing.
	time.Sleep(2 * interval)
	before := nft.runs.Load()
	p, _ := client.CoreV1().Pods("a").Get(ctx, "a1", metav1.GetOptions{})
	p.Annotations = map[string]string{"x": "y"}
	if _, err := client.CoreV1().Pods("a").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A label change does.
	p, _ = client.CoreV1().Pods("a").Get(ctx, "a2", metav1.GetOptions{})
	p.Labels["app"] = "burst"
	if _, err := client.CoreV1().Pods("a").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a2 allowed after its label changed", verdictIs(packet{src: "10.42.0.3", dst: "10.42.0.2", proto: "tcp", port: 80}, "accept"))
	if n := nft.runs.Load() - before; n != 1 {
		t.Errorf("annotation and label updates took %d transactions, want 1", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
