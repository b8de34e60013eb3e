package netpol

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"
)

// benchCluster is 5,000 pods in 50 namespaces on 50 nodes, and 200
// policies: each namespace denies ingress, lets its app=web pods in from
// app=client pods of team=<n> namespaces on port 8080, and lets app=db in
// from app=web on the named port "sql".
func benchCluster() snapshot {
	s := snapshot{node: "node-0", namespaces: map[string]labels.Set{}}
	apps := []string{"web", "client", "db", "other"}
	for i := range 5000 {
		ns := fmt.Sprintf("ns-%d", i%50)
		s.namespaces[ns] = labels.Set{"team": fmt.Sprint(i % 5)}
		s.pods = append(s.pods, pod(ns, fmt.Sprintf("p-%d", i), fmt.Sprintf("node-%d", i%50),
			"app="+apps[i%4], "sql=5432", fmt.Sprintf("10.42.%d.%d", i/250, i%250+2)))
	}
	for n := range 50 {
		ns := fmt.Sprintf("ns-%d", n)
		s.policies = append(s.policies,
			policy(ns, "deny", "", nil),
			policy(ns, "web", "app=web", func(sp *networkingv1.NetworkPolicySpec) {
				sp.Ingress = []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel(fmt.Sprintf("team=%d", n%5)), PodSelector: sel("app=client")}},
					Ports: []networkingv1.NetworkPolicyPort{tcp(8080)},
				}}
			}),
			policy(ns, "db", "app=db", func(sp *networkingv1.NetworkPolicySpec) {
				sp.Ingress = []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=web")}},
					Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromString("sql"))}},
				}}
			}),
			policy(ns, "egress", "app=other", func(sp *networkingv1.NetworkPolicySpec) {
				sp.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
				sp.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("team=0")}}}}
			}),
		)
	}
	return s
}

// BenchmarkCompile is the whole ruleset's computation, done on every sync.
func BenchmarkCompile(b *testing.B) {
	s := benchCluster()
	b.ResetTimer()
	for b.Loop() {
		if _, problems := compile(s); len(problems) > 0 {
			b.Fatal(problems)
		}
	}
}

// BenchmarkPodChurnSync is one sync after one client pod, a peer of ten policies, changed its address:
// the computation and the difference sent (to a fake nft).
func BenchmarkPodChurnSync(b *testing.B) {
	s := benchCluster()
	tab := table{nft: knftables.NewFake(knftables.InetFamily, TableName)}
	ctx := context.Background()
	want, _ := compile(s)
	if _, err := tab.apply(ctx, want); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := s.pods[1].DeepCopy()
		p.Status.PodIPs = []corev1.PodIP{{IP: fmt.Sprintf("10.43.%d.%d", i/250%250, i%250+1)}}
		s.pods[1] = p
		want, _ := compile(s)
		if changed, err := tab.apply(ctx, want); err != nil || !changed {
			b.Fatal(err, changed)
		}
	}
}
