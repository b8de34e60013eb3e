package netpol

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/knftables"
)

// TestApplyIncremental checks what each sync sends: everything (table
// recreated) first, set elements only on pod churn, chains on policy edits,
// nothing when nothing changed.
func TestApplyIncremental(t *testing.T) {
	ctx := context.Background()
	fake := knftables.NewFake(knftables.InetFamily, TableName)
	tab := table{nft: fake}
	sync := func(pods []*corev1.Pod, policies ...*networkingv1.NetworkPolicy) (bool, string) {
		t.Helper()
		want, problems := compile(snapshot{node: node, pods: pods, namespaces: clusterNamespaces, policies: policies})
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		changed, err := tab.apply(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if !changed {
			return false, ""
		}
		return true, fake.LastTransaction.String()
	}
	deny := policy("a", "deny", "", func(s *networkingv1.NetworkPolicySpec) {
		s.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=db")}}}}
	})

	_, tx := sync(clusterPods, deny)
	for _, op := range []string{"add table", "delete table", "add chain inet kubelite-netpol pod-forward", "add rule"} {
		if !strings.Contains(tx, op) {
			t.Errorf("first sync lacks %q:\n%s", op, tx)
		}
	}
	if changed, tx := sync(clusterPods, deny); changed {
		t.Errorf("unchanged state sent a transaction:\n%s", tx)
	}

	// A new db pod elsewhere: the peer set changes, no rule does.
	moved := append(clusterPods[:len(clusterPods):len(clusterPods)], pod("a", "a4", "n2", "app=db", "", "10.42.1.9"))
	_, tx = sync(moved, deny)
	if strings.Contains(tx, "rule") || strings.Contains(tx, "chain") || strings.Contains(tx, "flush") || strings.Count(tx, "\n") != 1 || !strings.Contains(tx, "add element inet kubelite-netpol p-") || !strings.Contains(tx, "10.42.1.9") {
		t.Errorf("pod churn should add one set element:\n%s", tx)
	}
	// It moves: the element goes, another comes.
	moved[len(moved)-1] = pod("a", "a4", "n2", "app=db", "", "10.42.1.10")
	_, tx = sync(moved, deny)
	if !strings.Contains(tx, "delete element inet kubelite-netpol p-") || !strings.Contains(tx, "{ 10.42.1.9 }") || strings.Count(tx, "\n") != 2 {
		t.Errorf("pod address change should replace one set element:\n%s", tx)
	}
	if verdict(t, fake, packet{src: "10.42.1.10", dst: "10.42.0.2", proto: "tcp", port: 80}) != "accept" {
		t.Error("new peer not allowed")
	}

	// The policy goes: its sets go, after the rules that used them.
	_, tx = sync(moved)
	flush, del := strings.Index(tx, "flush chain inet kubelite-netpol pod-ingress"), strings.Index(tx, "delete set")
	if flush < 0 || del < flush {
		t.Errorf("want chains flushed before sets are deleted:\n%s", tx)
	}
	if diff := cmp.Diff([]string{"egress-isolated-v4", "egress-isolated-v6", "ingress-isolated-v4", "ingress-isolated-v6"}, setNames(fake)); diff != "" {
		t.Errorf("sets after the policy went (-want +got):\n%s", diff)
	}

	// After a failed sync the next one starts over.
	tab.applied = nil
	if _, tx = sync(moved); !strings.Contains(tx, "delete table") {
		t.Errorf("sync after a failure should recreate the table:\n%s", tx)
	}
}

func setNames(fake *knftables.Fake) []string {
	return slices.Sorted(maps.Keys(fake.Tables[knftables.InetFamily][TableName].Sets))
}

func TestCleanup(t *testing.T) {
	ctx := context.Background()
	fake := knftables.NewFake(knftables.InetFamily, TableName)
	want, _ := compile(snapshot{node: node, pods: clusterPods, namespaces: clusterNamespaces,
		policies: []*networkingv1.NetworkPolicy{policy("a", "deny", "", nil)}})
	if _, err := (&table{nft: fake}).apply(ctx, want); err != nil {
		t.Fatal(err)
	}
	for range 2 { // with the table, and again without
		if err := Cleanup(ctx, fake); err != nil {
			t.Fatal(err)
		}
		if dump := fake.Dump(); dump != "" {
			t.Errorf("table left:\n%s", dump)
		}
	}
}
