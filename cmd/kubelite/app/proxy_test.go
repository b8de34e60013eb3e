package app

import (
	"context"
	"maps"
	"net"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubelite/kubelite/controllers/clusterdns"
	"github.com/kubelite/kubelite/controllers/servicelb"
	"github.com/kubelite/kubelite/nodeagent"
)

func TestClusterDNSAddress(t *testing.T) {
	for _, tc := range []struct {
		flag, cidr, want string
	}{
		{"", "10.96.0.0/12", "10.96.0.10"},
		{"", "10.43.0.0/16", "10.43.0.10"},
		{"", "fd00:10::/108", "fd00:10::a"},
		{"10.96.0.53", "10.96.0.0/12", "10.96.0.53"},
		{"", "10.96.0.0/29", ""},
		{"10.96.0.300", "10.96.0.0/12", ""},
	} {
		_, cidr, _ := net.ParseCIDR(tc.cidr)
		ip, err := clusterDNSAddress(tc.flag, cidr)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q in %s: %v, want an error", tc.flag, tc.cidr, ip)
		case tc.want != "" && (err != nil || ip.String() != tc.want):
			t.Errorf("%q in %s: %v, %v; want %s", tc.flag, tc.cidr, ip, err, tc.want)
		}
	}
}

func TestServiceProxyLabels(t *testing.T) {
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"keep": "me"}}}
	cfg := nodeagent.NodeConfig{Name: "n", InternalIPs: []string{"10.0.0.5"}}
	serviceProxy{mode: "nftables"}.label(&cfg)
	maps.Copy(node.Labels, cfg.Labels)
	if node.Labels[servicelb.LabelServiceProxy] != "nftables" || node.Labels[clusterdns.LabelDNSPort] != "10053" {
		t.Fatalf("labels with the proxy: %v", node.Labels)
	}
	client := fake.NewClientset(node)
	serviceProxy{mode: "nftables"}.unlabel(ctx, client, "n")
	if n, _ := client.CoreV1().Nodes().Get(ctx, "n", metav1.GetOptions{}); len(n.Labels) != 3 {
		t.Errorf("a node with the proxy lost labels: %v", n.Labels)
	}
	serviceProxy{mode: "none"}.unlabel(ctx, client, "n")
	if n, _ := client.CoreV1().Nodes().Get(ctx, "n", metav1.GetOptions{}); len(n.Labels) != 1 || n.Labels["keep"] != "me" {
		t.Errorf("labels after the proxy was turned off: %v", n.Labels)
	}
}
