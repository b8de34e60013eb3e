package framework

import (
	"iter"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// The snapshot's pod indexes are counts over every assigned pod that the
// snapshot keeps up to date as the cache adds and removes pods
// (NodeChanged), so that the plugins whose PreFilter or PreScore depends
// on the pods of all nodes (topology spread, inter-pod affinity) read
// counts instead of looking at every pod in every cycle. An index is made
// on first use by counting every pod once.

// maxMatchIndexes bounds how many PodsMatching indexes a snapshot keeps;
// past it, the least recently used half is dropped (and counted again if
// asked for).
const maxMatchIndexes = 512

// PodCounts counts pods per node name; a node with none is absent.
type PodCounts map[string]int

type matchIndex struct {
	match  func(*corev1.Pod) bool
	counts PodCounts
	used   uint64
}

// TermKind says what an affinity term of an assigned pod asks for.
type TermKind int

// The kinds of pod affinity terms.
const (
	RequiredAffinity TermKind = iota
	RequiredAntiAffinity
	PreferredAffinity
	PreferredAntiAffinity
)

// TermGroup is one (anti-)affinity term that assigned pods carry, and how
// many carry it in each domain of its topology key.
type TermGroup struct {
	Kind TermKind
	// Weight is the term's weight; 0 for required terms.
	Weight int32
	// Term is the term; every pod of the group has an equal one.
	Term *AffinityTerm
	// Domains counts the pods with the term by the value of the term's
	// topology key on their node; pods on nodes without the key are not
	// counted.
	Domains map[string]int
}

type termGroupKey struct {
	kind   TermKind
	weight int32
	term   string
	topo   string
}

// SelectorKey spells a label selector for index keys: equal keys select
// the same labels. nil is "-", a selector that selects everything "*".
func SelectorKey(s labels.Selector) string {
	switch {
	case s == nil:
		return "-"
	case s.Empty():
		return "*"
	}
	return "=" + s.String()
}

// TermKey spells which pods t selects (namespaces, namespace selector and
// label selector, not the topology key): terms with equal keys select the
// same pods.
func TermKey(t *AffinityTerm) string {
	ns := sets.List(t.Namespaces)
	return strings.Join(ns, ",") + "|" + SelectorKey(t.NamespaceSelector) + "|" + SelectorKey(t.Selector)
}

// Domains returns, for each of keys, the values it has on the snapshot's
// nodes that have all of keys (topology spread's domains). The lists are
// kept until a node comes, goes or changes its labels, and must not be
// changed.
func (s *Snapshot) Domains(keys []string) [][]string {
	k := strings.Join(keys, "\x00")
	if d, ok := s.domains[k]; ok {
		return d
	}
	values := make([]sets.Set[string], len(keys))
	for i := range keys {
		values[i] = sets.New[string]()
	}
	for _, n := range s.Nodes {
		if !hasLabels(n.node, keys) {
			continue
		}
		for i, key := range keys {
			values[i].Insert(n.node.Labels[key])
		}
	}
	out := make([][]string, len(keys))
	for i := range keys {
		out[i] = sets.List(values[i])
	}
	if s.domains == nil {
		s.domains = map[string][][]string{}
	}
	s.domains[k] = out
	return out
}

func hasLabels(node *corev1.Node, keys []string) bool {
	for _, k := range keys {
		if _, ok := node.Labels[k]; !ok {
			return false
		}
	}
	return true
}

// PodsMatching returns, per node, how many of the snapshot's pods match.
// key names the predicate: every call with one key must pass an
// equivalent match. The first call for a key counts every pod; later
// calls read counts the snapshot kept up to date. The counts must not be
// changed and are valid until the cache next updates the snapshot. Only
// the scheduling loop's sequential phases (PreFilter, PreScore) may call
// it.
func (s *Snapshot) PodsMatching(key string, match func(*corev1.Pod) bool) PodCounts {
	s.uses++
	if ix, ok := s.matching[key]; ok {
		ix.used = s.uses
		return ix.counts
	}
	if s.matching == nil {
		s.matching = map[string]*matchIndex{}
	}
	if len(s.matching) >= maxMatchIndexes {
		s.dropOldIndexes()
	}
	ix := &matchIndex{match: match, counts: PodCounts{}, used: s.uses}
	for _, n := range s.Nodes {
		for _, pi := range n.Pods {
			if match(pi.Pod) {
				ix.counts[n.node.Name]++
			}
		}
	}
	s.matching[key] = ix
	return ix.counts
}

// dropOldIndexes drops the least recently used half of the match indexes.
func (s *Snapshot) dropOldIndexes() {
	used := make([]uint64, 0, len(s.matching))
	for _, ix := range s.matching {
		used = append(used, ix.used)
	}
	slices.Sort(used)
	cut := used[len(used)/2]
	for k, ix := range s.matching {
		if ix.used < cut {
			delete(s.matching, k)
		}
	}
}

// AffinityTerms returns the pod (anti-)affinity terms of the snapshot's
// pods, grouped by kind, weight and term, with their counts per domain.
// The groups must not be changed; the same rules as for PodsMatching hold.
func (s *Snapshot) AffinityTerms() iter.Seq[*TermGroup] {
	if s.terms == nil {
		s.terms = map[termGroupKey]*TermGroup{}
		for _, n := range s.Nodes {
			for _, pi := range n.PodsWithAffinity {
				s.countTerms(n.node, pi, 1)
			}
		}
	}
	return maps.Values(s.terms)
}

// NodeChanged brings the indexes up to date after the snapshot's entry
// for a node went from old to new; old is nil for a node added, new nil
// for a node removed. The cache calls it for each node it copies.
func (s *Snapshot) NodeChanged(old, new *NodeInfo) {
	relabeled := old == nil || new == nil || !sameLabels(old.node, new.node)
	if relabeled {
		s.domains = nil
	}
	if len(s.matching) == 0 && s.terms == nil {
		return
	}
	if !relabeled {
		added, removed := diffPods(old.Pods, new.Pods)
		for _, pi := range removed {
			s.countPod(old.node, pi, -1)
		}
		for _, pi := range added {
			s.countPod(new.node, pi, 1)
		}
		return
	}
	if old != nil {
		for _, pi := range old.Pods {
			s.countPod(old.node, pi, -1)
		}
	}
	if new != nil {
		for _, pi := range new.Pods {
			s.countPod(new.node, pi, 1)
		}
	}
}

func sameLabels(a, b *corev1.Node) bool {
	if a == b {
		return true
	}
	if a.Name != b.Name || len(a.Labels) != len(b.Labels) {
		return false
	}
	for k, v := range a.Labels {
		if w, ok := b.Labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// diffPods returns the pods in new but not old, and in old but not new.
// PodInfos are never changed once made, so identity is enough.
func diffPods(old, new []*PodInfo) (added, removed []*PodInfo) {
	if len(new) >= len(old) && slices.Equal(old, new[:len(old)]) {
		return new[len(old):], nil
	}
	inOld := make(map[*PodInfo]bool, len(old))
	for _, pi := range old {
		inOld[pi] = true
	}
	for _, pi := range new {
		if inOld[pi] {
			delete(inOld, pi)
		} else {
			added = append(added, pi)
		}
	}
	for _, pi := range old {
		if inOld[pi] {
			removed = append(removed, pi)
		}
	}
	return added, removed
}

func (s *Snapshot) countPod(node *corev1.Node, pi *PodInfo, delta int) {
	for _, ix := range s.matching {
		if ix.match(pi.Pod) {
			addCount(ix.counts, node.Name, delta)
		}
	}
	if s.terms != nil && pi.Affinity != nil {
		s.countTerms(node, pi, delta)
	}
}

func (s *Snapshot) countTerms(node *corev1.Node, pi *PodInfo, delta int) {
	a := pi.Affinity
	for i := range a.Required {
		s.countTerm(node, RequiredAffinity, 0, &a.Required[i], delta)
	}
	for i := range a.RequiredAnti {
		s.countTerm(node, RequiredAntiAffinity, 0, &a.RequiredAnti[i], delta)
	}
	for i := range a.Preferred {
		s.countTerm(node, PreferredAffinity, a.Preferred[i].Weight, &a.Preferred[i].AffinityTerm, delta)
	}
	for i := range a.PreferredAnti {
		s.countTerm(node, PreferredAntiAffinity, a.PreferredAnti[i].Weight, &a.PreferredAnti[i].AffinityTerm, delta)
	}
}

func (s *Snapshot) countTerm(node *corev1.Node, kind TermKind, weight int32, t *AffinityTerm, delta int) {
	v, ok := node.Labels[t.TopologyKey]
	if !ok {
		return
	}
	k := termGroupKey{kind: kind, weight: weight, term: t.Key, topo: t.TopologyKey}
	g := s.terms[k]
	if g == nil {
		g = &TermGroup{Kind: kind, Weight: weight, Term: t, Domains: map[string]int{}}
		s.terms[k] = g
	}
	addCount(g.Domains, v, delta)
	if len(g.Domains) == 0 {
		delete(s.terms, k)
	}
}

func addCount(m map[string]int, k string, delta int) {
	if n := m[k] + delta; n != 0 {
		m[k] = n
	} else {
		delete(m, k)
	}
}
