package main

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// checkPlacements checks bound pods against the filters of upstream's
// scheduler that the scheduler benchmark's pods exercise, on the final
// state, independently of any scheduler's code: the node exists; the
// node's allocatable cpu, memory and pod count hold the requests of the
// pods on it; no two pods break a required pod anti-affinity term; and
// every DoNotSchedule topology spread constraint has a skew of at most
// maxSkew. (Pods of a spread group are only ever added here, so a skew
// within maxSkew after each placement, as the filter demands, is one
// within maxSkew at the end.) It returns one message per violation, and
// one for each pod that is not bound.
func checkPlacements(nodes []corev1.Node, pods []*corev1.Pod) []string {
	var bad []string
	byName := map[string]*corev1.Node{}
	for i := range nodes {
		byName[nodes[i].Name] = &nodes[i]
	}
	type use struct {
		cpu, mem resource.Quantity
		pods     int64
	}
	used := map[string]*use{}
	var placed []*corev1.Pod
	for _, pod := range pods {
		if pod.Spec.NodeName == "" {
			bad = append(bad, fmt.Sprintf("pod %s/%s is not bound", pod.Namespace, pod.Name))
			continue
		}
		if byName[pod.Spec.NodeName] == nil {
			bad = append(bad, fmt.Sprintf("pod %s/%s is bound to node %s, which does not exist", pod.Namespace, pod.Name, pod.Spec.NodeName))
			continue
		}
		placed = append(placed, pod)
		u := used[pod.Spec.NodeName]
		if u == nil {
			u = &use{}
			used[pod.Spec.NodeName] = u
		}
		u.pods++
		for _, c := range pod.Spec.Containers {
			u.cpu.Add(c.Resources.Requests[corev1.ResourceCPU])
			u.mem.Add(c.Resources.Requests[corev1.ResourceMemory])
		}
	}
	for name, u := range used {
		alloc := byName[name].Status.Allocatable
		if u.cpu.Cmp(alloc[corev1.ResourceCPU]) > 0 {
			bad = append(bad, fmt.Sprintf("node %s: pods request cpu %s, allocatable %s", name, u.cpu.String(), alloc.Cpu()))
		}
		if u.mem.Cmp(alloc[corev1.ResourceMemory]) > 0 {
			bad = append(bad, fmt.Sprintf("node %s: pods request memory %s, allocatable %s", name, u.mem.String(), alloc.Memory()))
		}
		if u.pods > alloc.Pods().Value() {
			bad = append(bad, fmt.Sprintf("node %s: %d pods, allocatable %d", name, u.pods, alloc.Pods().Value()))
		}
	}

	// domainCounts counts, per value of the node label key, the placed
	// pods in namespace ns that sel selects. Memoized: many pods share a
	// term.
	type group struct{ ns, sel, key string }
	counts := map[group]map[string]int{}
	domainCounts := func(ns string, sel *metav1.LabelSelector, key string) (map[string]int, error) {
		g := group{ns, metav1.FormatLabelSelector(sel), key}
		if c, ok := counts[g]; ok {
			return c, nil
		}
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, err
		}
		c := map[string]int{}
		for _, p := range placed {
			if p.Namespace != ns || !s.Matches(labels.Set(p.Labels)) {
				continue
			}
			if v, ok := byName[p.Spec.NodeName].Labels[key]; ok {
				c[v]++
			}
		}
		counts[g] = c
		return c, nil
	}
	// domains lists the values of the node label key.
	domains := func(key string) []string {
		var out []string
		for i := range nodes {
			if v, ok := nodes[i].Labels[key]; ok && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	skewChecked := map[group]bool{}
	for _, pod := range placed {
		node := byName[pod.Spec.NodeName]
		if a := pod.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
			for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				c, err := domainCounts(pod.Namespace, term.LabelSelector, term.TopologyKey)
				if err != nil {
					bad = append(bad, fmt.Sprintf("pod %s/%s: %v", pod.Namespace, pod.Name, err))
					continue
				}
				domain, ok := node.Labels[term.TopologyKey]
				if !ok {
					continue
				}
				others := c[domain]
				if s, _ := metav1.LabelSelectorAsSelector(term.LabelSelector); s.Matches(labels.Set(pod.Labels)) {
					others-- // itself
				}
				if others > 0 {
					bad = append(bad, fmt.Sprintf("pod %s/%s on node %s: %d pod(s) in %s=%s break its required anti-affinity",
						pod.Namespace, pod.Name, node.Name, others, term.TopologyKey, domain))
				}
			}
		}
		for _, tsc := range pod.Spec.TopologySpreadConstraints {
			if tsc.WhenUnsatisfiable != corev1.DoNotSchedule {
				continue
			}
			g := group{pod.Namespace, metav1.FormatLabelSelector(tsc.LabelSelector), tsc.TopologyKey}
			if skewChecked[g] {
				continue
			}
			skewChecked[g] = true
			c, err := domainCounts(pod.Namespace, tsc.LabelSelector, tsc.TopologyKey)
			if err != nil {
				bad = append(bad, fmt.Sprintf("pod %s/%s: %v", pod.Namespace, pod.Name, err))
				continue
			}
			lo, hi := -1, 0
			for _, d := range domains(tsc.TopologyKey) {
				if lo < 0 || c[d] < lo {
					lo = c[d]
				}
				hi = max(hi, c[d])
			}
			if hi-lo > int(tsc.MaxSkew) {
				bad = append(bad, fmt.Sprintf("pods of %s in %s: skew %d over %s exceeds maxSkew %d (counts %v)",
					g.sel, pod.Namespace, hi-lo, tsc.TopologyKey, tsc.MaxSkew, c))
			}
		}
	}
	return bad
}

// TestCheckPlacements: the checker accepts good placements and names each
// kind of violation.
func TestCheckPlacements(t *testing.T) {
	var nodes []corev1.Node
	for i := range 4 {
		n := benchNode(i) // zones 0..3
		n.Status = benchNodeStatus()
		nodes = append(nodes, *n)
	}
	on := func(i int, node string) *corev1.Pod {
		p := benchSchedPod(i, "affinity-spread")
		p.Namespace = "ns"
		p.Spec.NodeName = node
		return p
	}
	// App 0 (required anti-affinity by hostname), four pods, one per node and zone.
	good := []*corev1.Pod{on(0, "node-00000"), on(100, "node-00001"), on(200, "node-00002"), on(300, "node-00003")}
	if bad := checkPlacements(nodes, good); len(bad) != 0 {
		t.Errorf("good placements rejected: %v", bad)
	}
	for name, tc := range map[string]struct {
		pods []*corev1.Pod
		want int
	}{
		"unbound":                   {[]*corev1.Pod{on(0, "")}, 1},
		"no such node":              {[]*corev1.Pod{on(0, "node-9")}, 1},
		"anti-affinity and skew":    {[]*corev1.Pod{on(0, "node-00000"), on(100, "node-00000")}, 3}, // each pod, and skew 2
		"skew only (preferred app)": {[]*corev1.Pod{on(1, "node-00000"), on(101, "node-00000")}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			if bad := checkPlacements(nodes, tc.pods); len(bad) != tc.want {
				t.Errorf("got %d violations, want %d: %v", len(bad), tc.want, bad)
			}
		})
	}
	t.Run("too many for the node", func(t *testing.T) {
		var pods []*corev1.Pod
		for i := range 41 { // 41 x 100m > 4 cpu
			p := benchSchedPod(i, "plain")
			p.Spec.NodeName = "node-00000"
			pods = append(pods, p)
		}
		bad := checkPlacements(nodes, pods)
		if len(bad) != 1 {
			t.Errorf("got %v, want one cpu violation", bad)
		}
	})
}
