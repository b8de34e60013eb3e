package garbagecollector

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestGraph(t *testing.T) {
	g := newGraph()
	ref := func(uid types.UID, block bool) metav1.OwnerReference {
		return metav1.OwnerReference{UID: uid, BlockOwnerDeletion: ptr.To(block)}
	}
	sorted := func(uids []types.UID) []types.UID { slices.Sort(uids); return slices.Compact(uids) }
	steps := []struct {
		name     string
		do       func() []types.UID
		affected []types.UID
		deps     map[types.UID][]types.UID
	}{
		{"owner without owners", func() []types.UID { return g.observe(node{uid: "o"}) }, nil,
			map[types.UID][]types.UID{"o": nil}},
		{"dependent", func() []types.UID { return g.observe(node{uid: "d", owners: []metav1.OwnerReference{ref("o", false)}}) },
			[]types.UID{"d"}, map[types.UID][]types.UID{"o": {"d"}}},
		{"dependent of an owner not seen", func() []types.UID {
			return g.observe(node{uid: "e", owners: []metav1.OwnerReference{ref("o", true), ref("x", false)}})
		}, []types.UID{"e"}, map[types.UID][]types.UID{"o": {"d", "e"}, "x": {"e"}}},
		{"blocking changes", func() []types.UID {
			return g.observe(node{uid: "d", owners: []metav1.OwnerReference{ref("o", true)}})
		}, []types.UID{"d", "o"}, map[types.UID][]types.UID{"o": {"d", "e"}}},
		{"reference dropped", func() []types.UID {
			return g.observe(node{uid: "e", owners: []metav1.OwnerReference{ref("x", false)}})
		}, []types.UID{"e", "o"}, map[types.UID][]types.UID{"o": {"d"}, "x": {"e"}}},
		{"owner in foreground deletion", func() []types.UID {
			return g.observe(node{uid: "o", deleting: true, foreground: true})
		}, []types.UID{"o"}, map[types.UID][]types.UID{"o": {"d"}}},
		{"dependent gone", func() []types.UID { return g.forget("d") }, []types.UID{"o"},
			map[types.UID][]types.UID{"o": nil}},
		{"owner gone", func() []types.UID {
			g.observe(node{uid: "f", owners: []metav1.OwnerReference{ref("o", false)}})
			return g.forget("o")
		},
			[]types.UID{"f"}, map[types.UID][]types.UID{"o": {"f"}}},
		{"unknown uid forgotten", func() []types.UID { return g.forget("nope") }, nil, nil},
	}
	for _, s := range steps {
		if diff := cmp.Diff(s.affected, sorted(s.do())); diff != "" {
			t.Errorf("%s: affected (-want +got):\n%s", s.name, diff)
		}
		for owner, want := range s.deps {
			var got []types.UID
			for _, n := range g.dependentsOf(owner) {
				got = append(got, n.uid)
			}
			if diff := cmp.Diff(want, sorted(got)); diff != "" {
				t.Errorf("%s: dependents of %s (-want +got):\n%s", s.name, owner, diff)
			}
		}
	}
	if n, ok := g.get("e"); !ok || n.ownerRef("x") == nil || n.ownerRef("o") != nil {
		t.Errorf("node e = %+v, %v", n, ok)
	}
}
