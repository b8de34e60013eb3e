package scheduler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

var indexApps = []string{"a", "b", "c"}

// indexView is everything the snapshot's indexes say, in comparable form.
type indexView struct {
	Matching map[string]framework.PodCounts
	Terms    map[string]map[string]int
	Domains  [][]string
}

func viewIndexes(s *framework.Snapshot) indexView {
	v := indexView{Matching: map[string]framework.PodCounts{}, Terms: map[string]map[string]int{}}
	for _, app := range indexApps {
		counts := s.PodsMatching("test|app="+app, func(p *corev1.Pod) bool { return p.Labels["app"] == app })
		v.Matching[app] = maps.Clone(counts)
	}
	for g := range s.AffinityTerms() {
		v.Terms[fmt.Sprint(g.Kind, "/", g.Weight, "/", g.Term.Key, "/", g.Term.TopologyKey)] = maps.Clone(g.Domains)
	}
	v.Domains = s.Domains([]string{corev1.LabelTopologyZone, corev1.LabelHostname})
	return v
}

func indexPod(rng *rand.Rand, i int) *corev1.Pod {
	app := indexApps[rng.IntN(len(indexApps))]
	p := ft.MakePod(fmt.Sprintf("p%d", i)).Label("app", app).Obj()
	p.UID = types.UID(p.Name)
	term := corev1.PodAffinityTerm{TopologyKey: corev1.LabelTopologyZone,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}
	switch rng.IntN(4) {
	case 0:
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term}}}
	case 1:
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: int32(1 + rng.IntN(2)), PodAffinityTerm: term}}}}
	}
	return p
}

// TestCacheIndexes: the snapshot's pod indexes (pods per node matching a
// predicate, placed pods' affinity terms per domain, label domains), kept
// up to date as pods are assumed, confirmed (with new labels), forgotten
// and deleted and as nodes come, go and change labels, always equal a
// count from scratch.
func TestCacheIndexes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	zones := []string{"z1", "z2", "z3"}
	makeNode := func(i int) *corev1.Node {
		return ft.MakeNode(fmt.Sprintf("n%d", i)).Label(corev1.LabelTopologyZone, zones[rng.IntN(len(zones))]).Obj()
	}
	c := newNodeCache()
	for i := range 6 {
		c.setNode(makeNode(i))
	}
	viewIndexes(c.snapshot()) // the indexes exist from here on
	var assumed, bound []*corev1.Pod
	pick := func(list *[]*corev1.Pod) *corev1.Pod {
		i := rng.IntN(len(*list))
		p := (*list)[i]
		*list = slices.Delete(*list, i, i+1)
		return p
	}
	checked := 0
	for step := range 2000 {
		switch op := rng.IntN(10); {
		case op < 4: // assume, sometimes on a node the cache has not seen
			p := onNode(indexPod(rng, step), fmt.Sprintf("n%d", rng.IntN(8)))
			c.assume(p)
			assumed = append(assumed, p)
		case op == 4 && len(assumed) > 0: // the informer confirms, maybe with other labels
			p := pick(&assumed).DeepCopy()
			if rng.IntN(2) == 0 {
				p.Labels["app"] = indexApps[rng.IntN(len(indexApps))]
			}
			c.setPod(p)
			bound = append(bound, p)
		case op == 5 && len(assumed) > 0:
			c.forget(pick(&assumed))
		case op == 6 && len(bound) > 0:
			c.removePod(pick(&bound))
		case op == 7: // relabel, or a status-only update
			i := rng.IntN(8)
			if rng.IntN(2) == 0 {
				c.setNode(makeNode(i))
			} else if n, ok := c.snap.ByName[fmt.Sprintf("n%d", i)]; ok {
				c.setNode(n.Node().DeepCopy())
			}
		case op == 8 && rng.IntN(4) == 0:
			c.removeNode(makeNode(rng.IntN(8)))
		}
		if step%7 != 0 {
			continue
		}
		snap := c.snapshot()
		got := viewIndexes(snap)
		want := viewIndexes(framework.NewSnapshot(slices.Clone(snap.Nodes)...))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d: indexes differ from a recount (-recount +kept):\n%s", step, diff)
		}
		if len(got.Terms) > 0 && len(got.Matching["a"]) > 0 {
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("only %d checks had terms and matching pods", checked)
	}
}
