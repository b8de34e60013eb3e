package nodeipam

import (
	"context"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
)

// TestRebuild: the first sync takes the CIDRs that Nodes already hold
// before it hands one out, whatever order the Nodes are synced in.
func TestRebuild(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	held := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "held"}, Spec: corev1.NodeSpec{PodCIDR: "10.42.0.0/24", PodCIDRs: []string{"10.42.0.0/24"}}}
	outside := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "outside"}, Spec: corev1.NodeSpec{PodCIDR: "10.128.0.0/24", PodCIDRs: []string{"10.128.0.0/24"}}}
	fresh := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}}
	client := fake.NewClientset(held, outside, fresh)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Nodes: factory.Core().V1().Nodes(), ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.42.0.0/23")}})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	defer factory.Shutdown()
	defer cancel()
	if err := c.sync(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
	got, err := client.CoreV1().Nodes().Get(ctx, "fresh", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.PodCIDR != "10.42.1.0/24" || len(got.Spec.PodCIDRs) != 1 || got.Spec.PodCIDRs[0] != "10.42.1.0/24" {
		t.Errorf("fresh node got %q %v, want 10.42.1.0/24 (10.42.0.0/24 is held)", got.Spec.PodCIDR, got.Spec.PodCIDRs)
	}
}

// TestDualStack: a Node gets one CIDR of each family, in the cluster CIDRs' order.
func TestDualStack(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	client := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}})
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Nodes: factory.Core().V1().Nodes(),
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("fd00:42::/56"), netip.MustParsePrefix("10.42.0.0/16")}})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	defer factory.Shutdown()
	defer cancel()
	if err := c.sync(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	got, _ := client.CoreV1().Nodes().Get(ctx, "n", metav1.GetOptions{})
	if want := []string{"fd00:42::/64", "10.42.0.0/24"}; len(got.Spec.PodCIDRs) != 2 || got.Spec.PodCIDRs[0] != want[0] || got.Spec.PodCIDRs[1] != want[1] || got.Spec.PodCIDR != want[0] {
		t.Errorf("node got %q %v, want %v", got.Spec.PodCIDR, got.Spec.PodCIDRs, want)
	}
}

func TestValidate(t *testing.T) {
	for _, cidrs := range [][]string{nil, {"10.0.0.0/8", "10.1.0.0/16"}, {"10.0.0.0/8", "fd00::/48", "fd01::/48"}, {"10.0.0.0/30"}} {
		var ps []netip.Prefix
		for _, s := range cidrs {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		if err := (Config{ClusterCIDRs: ps}).Validate(); err == nil {
			t.Errorf("cluster CIDRs %v accepted", cidrs)
		}
	}
}
