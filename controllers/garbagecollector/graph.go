package garbagecollector

import (
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// node is what the graph knows of one observed object: where it lives, whom
// it names as owners, and the deletion state that matters to the collector.
type node struct {
	uid       types.UID
	resource  schema.GroupVersionResource
	kind      schema.GroupKind
	namespace string
	name      string
	owners    []metav1.OwnerReference
	// deleting: the object has a deletionTimestamp.
	deleting bool
	// foreground and orphan: it carries the foregroundDeletion or orphan
	// finalizer.
	foreground, orphan bool
}

// deletingDependents reports whether the object waits for its dependents to
// be deleted (foreground deletion).
func (n *node) deletingDependents() bool { return n.deleting && n.foreground }

// orphaning reports whether the object waits for its dependents to be
// orphaned.
func (n *node) orphaning() bool { return n.deleting && n.orphan }

// ownerRef returns n's reference to the owner uid, or nil.
func (n *node) ownerRef(uid types.UID) *metav1.OwnerReference {
	for i := range n.owners {
		if n.owners[i].UID == uid {
			return &n.owners[i]
		}
	}
	return nil
}

// graph is the dependency graph the metadata informers feed: observed
// objects by uid, and for any uid named as an owner (observed or not) the
// uids of the objects naming it. It is safe for concurrent use; it hands out
// copies, never its own nodes.
type graph struct {
	mu         sync.RWMutex
	nodes      map[types.UID]*node
	dependents map[types.UID]map[types.UID]struct{}
}

func newGraph() *graph {
	return &graph{nodes: map[types.UID]*node{}, dependents: map[types.UID]map[types.UID]struct{}{}}
}

// get returns a copy of the node for uid, if it was observed.
func (g *graph) get(uid types.UID) (node, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	if !ok {
		return node{}, false
	}
	return *n, true
}

// dependentsOf returns copies of the observed objects that name uid as an
// owner.
func (g *graph) dependentsOf(uid types.UID) []node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]node, 0, len(g.dependents[uid]))
	for dep := range g.dependents[uid] {
		if n, ok := g.nodes[dep]; ok {
			out = append(out, *n)
		}
	}
	return out
}

// hasDependents reports whether any observed object names uid as an owner.
func (g *graph) hasDependents(uid types.UID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.dependents[uid]) > 0
}

// observe records the latest state of an object and returns the uids whose
// sync this change may affect: the object itself when it has owners or is
// being deleted, and owners it no longer names or that it started or
// stopped blocking.
func (g *graph) observe(n node) []types.UID {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.nodes[n.uid]
	n.owners = slices.Clone(n.owners)
	g.nodes[n.uid] = &n

	var affected []types.UID
	if len(n.owners) > 0 || n.deleting {
		affected = append(affected, n.uid)
	}
	if old != nil {
		for _, ref := range old.owners {
			if cur := n.ownerRef(ref.UID); cur == nil || blocks(cur) != blocks(&ref) || n.deleting != old.deleting {
				affected = append(affected, ref.UID)
			}
			if n.ownerRef(ref.UID) == nil {
				g.unlink(ref.UID, n.uid)
			}
		}
	}
	for _, ref := range n.owners {
		set := g.dependents[ref.UID]
		if set == nil {
			set = map[types.UID]struct{}{}
			g.dependents[ref.UID] = set
		}
		set[n.uid] = struct{}{}
	}
	return affected
}

// forget removes an object that is gone and returns the uids whose sync
// this may affect: its dependents (their owner is gone) and its owners
// (one dependent fewer to wait for).
func (g *graph) forget(uid types.UID) []types.UID {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.nodes[uid]
	if !ok {
		return nil
	}
	delete(g.nodes, uid)
	var affected []types.UID
	for _, ref := range n.owners {
		g.unlink(ref.UID, uid)
		affected = append(affected, ref.UID)
	}
	for dep := range g.dependents[uid] {
		affected = append(affected, dep)
	}
	return affected
}

// forgetResource removes every object of resource, as when the server stops
// serving it, and returns the uids whose sync this may affect.
func (g *graph) forgetResource(resource schema.GroupVersionResource) []types.UID {
	g.mu.RLock()
	var uids []types.UID
	for uid, n := range g.nodes {
		if n.resource == resource {
			uids = append(uids, uid)
		}
	}
	g.mu.RUnlock()
	var affected []types.UID
	for _, uid := range uids {
		affected = append(affected, g.forget(uid)...)
	}
	return affected
}

// unlink drops dep from owner's dependents. g.mu must be held.
func (g *graph) unlink(owner, dep types.UID) {
	set := g.dependents[owner]
	delete(set, dep)
	if len(set) == 0 {
		delete(g.dependents, owner)
	}
}

func blocks(ref *metav1.OwnerReference) bool {
	return ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion
}
