package podtopologyspread

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

const zone = corev1.LabelTopologyZone

func spread(key string, skew int32, action corev1.UnsatisfiableConstraintAction) corev1.TopologySpreadConstraint {
	return corev1.TopologySpreadConstraint{MaxSkew: skew, TopologyKey: key, WhenUnsatisfiable: action,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
}

func web(name string) *corev1.Pod { return ft.MakePod(name).Label("app", "web").Obj() }

// cluster: n1 and n2 in zone a, n3 in zone b, n4 without a zone.
func cluster(pods map[string][]*corev1.Pod) *framework.Snapshot {
	var infos []*framework.NodeInfo
	for _, n := range []*corev1.Node{
		ft.MakeNode("n1").Label(zone, "a").Obj(), ft.MakeNode("n2").Label(zone, "a").Obj(),
		ft.MakeNode("n3").Label(zone, "b").Obj(), ft.MakeNode("n4").Obj(),
	} {
		infos = append(infos, ft.NodeInfo(n, pods[n.Name]...))
	}
	return framework.NewSnapshot(infos...)
}

// TestFilter encodes upstream's DoNotSchedule rule: count in the node's
// domain + 1 if the pod matches its own selector - the smallest domain's
// count (0 while there are fewer than minDomains domains) must not exceed
// maxSkew; a node without the key is unresolvable.
func TestFilter(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		pods map[string][]*corev1.Pod
		want map[string]string
	}{
		{
			name: "zone a is ahead by one",
			pod:  ft.MakePod("p").Label("app", "web").Obj(),
			pods: map[string][]*corev1.Pod{"n1": {web("w1")}},
			want: map[string]string{"n1": ErrReasonConstraintsNotMatch, "n2": ErrReasonConstraintsNotMatch, "n4": ErrReasonNodeLabelNotMatch},
		},
		{
			name: "balanced zones take the pod anywhere",
			pod:  ft.MakePod("p").Label("app", "web").Obj(),
			pods: map[string][]*corev1.Pod{"n1": {web("w1")}, "n3": {web("w2")}},
			want: map[string]string{"n4": ErrReasonNodeLabelNotMatch},
		},
		{
			name: "a pod its selector does not match adds nothing",
			pod:  ft.MakePod("p").Obj(),
			pods: map[string][]*corev1.Pod{"n1": {web("w1")}},
			want: map[string]string{"n4": ErrReasonNodeLabelNotMatch},
		},
		{
			name: "other namespaces do not count",
			pod:  ft.MakePod("p").Label("app", "web").Obj(),
			pods: map[string][]*corev1.Pod{"n1": {ft.MakePod("w1").Namespace("other").Label("app", "web").Obj()}},
			want: map[string]string{"n4": ErrReasonNodeLabelNotMatch},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{spread(zone, 1, corev1.DoNotSchedule)}
			snap := cluster(tt.pods)
			p := New(Listers{})
			state := framework.NewCycleState(snap)
			if st := p.PreFilter(t.Context(), state, tt.pod); !st.IsSuccess() {
				t.Fatal(st.Code())
			}
			got := map[string]string{}
			for _, n := range snap.Nodes {
				if st := p.Filter(t.Context(), state, tt.pod, n); !st.IsSuccess() {
					got[n.Node().Name] = st.Message()
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
			// A required node affinity that every node meets takes the
			// path that checks each node; the answer is the same.
			everyNode(tt.pod)
			state = framework.NewCycleState(snap)
			if st := p.PreFilter(t.Context(), state, tt.pod); !st.IsSuccess() {
				t.Fatal(st.Code())
			}
			got = map[string]string{}
			for _, n := range snap.Nodes {
				if st := p.Filter(t.Context(), state, tt.pod, n); !st.IsSuccess() {
					got[n.Node().Name] = st.Message()
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("with node affinity, rejections (-want +got):\n%s", diff)
			}
		})
	}
}

// everyNode gives pod a required node affinity that every node with a
// hostname label meets.
func everyNode(pod *corev1.Pod) {
	pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpExists}},
		}}},
	}}
}

// TestMinDomains: with fewer domains than minDomains the minimum counts as
// 0, so a skew of one pod is already too much.
func TestMinDomains(t *testing.T) {
	c := spread(zone, 1, corev1.DoNotSchedule)
	c.MinDomains = ptr.To[int32](3)
	pod := web("p")
	pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{c}
	snap := cluster(map[string][]*corev1.Pod{"n1": {web("w1")}, "n3": {web("w2")}})
	p := New(Listers{})
	state := framework.NewCycleState(snap)
	p.PreFilter(t.Context(), state, pod)
	for _, n := range snap.Nodes {
		if st := p.Filter(t.Context(), state, pod, n); st.IsSuccess() {
			t.Errorf("node %s fits", n.Node().Name)
		}
	}
	// Preemption's what-if: without w2 zone b is empty and takes the pod
	// when minDomains is 1.
	pod.Spec.TopologySpreadConstraints[0].MinDomains = nil
	state = framework.NewCycleState(snap)
	p.PreFilter(t.Context(), state, pod)
	n3 := snap.ByName["n3"]
	p.RemovePod(t.Context(), state, pod, n3.Pods[0], n3)
	if st := p.Filter(t.Context(), state, pod, snap.ByName["n1"]); st.IsSuccess() {
		t.Error("n1 fits with zone b emptied")
	}
	if st := p.Filter(t.Context(), state, pod, n3); !st.IsSuccess() {
		t.Errorf("n3 does not fit: %s", st.Message())
	}
}

func scores(t *testing.T, p *PodTopologySpread, snap *framework.Snapshot, pod *corev1.Pod) map[string]int64 {
	t.Helper()
	state := framework.NewCycleState(snap)
	if st := p.PreScore(t.Context(), state, pod, snap.Nodes); !st.IsSuccess() {
		t.Fatalf("PreScore: %v", st.Code())
	}
	var list []framework.NodeScore
	for _, n := range snap.Nodes {
		s, _ := p.Score(t.Context(), state, pod, n)
		list = append(list, framework.NodeScore{Name: n.Node().Name, Score: s})
	}
	p.NormalizeScore(t.Context(), state, pod, list)
	return ft.ScoreMap(list)
}

// TestScore: upstream's count * log(domains + 2) + maxSkew - 1, then
// 100 * (max + min - score) / max, for ScheduleAnyway constraints.
func TestScore(t *testing.T) {
	pod := web("p")
	pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{spread(corev1.LabelHostname, 1, corev1.ScheduleAnyway)}
	snap := cluster(map[string][]*corev1.Pod{"n1": {web("w1"), web("w2")}, "n2": {web("w3")}})
	// raw: n1 2*log(6) = 3.58 -> 4, n2 1.79 -> 2, n3 and n4 0.
	want := map[string]int64{"n1": 0, "n2": 50, "n3": 100, "n4": 100}
	if diff := cmp.Diff(want, scores(t, New(Listers{}), snap, pod)); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
	zonal := web("z")
	zonal.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{spread(zone, 1, corev1.ScheduleAnyway)}
	want = map[string]int64{"n1": 0, "n2": 0, "n3": 100, "n4": 0}
	if diff := cmp.Diff(want, scores(t, New(Listers{}), snap, zonal)); diff != "" {
		t.Errorf("zone scores (-want +got):\n%s", diff)
	}
	everyNode(zonal)
	if diff := cmp.Diff(want, scores(t, New(Listers{}), snap, zonal)); diff != "" {
		t.Errorf("zone scores with node affinity (-want +got):\n%s", diff)
	}
}

// TestDefaultConstraints: a pod without constraints is spread by
// upstream's system defaults over the pods of its Service; a pod that
// belongs to nothing is not scored.
func TestDefaultConstraints(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	_ = idx.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}})
	p := New(Listers{Services: corelisters.NewServiceLister(idx)})
	snap := cluster(map[string][]*corev1.Pod{"n1": {web("w1"), web("w2")}, "n3": {web("w3")}})
	// hostname (skew 3, weight log 6) + zone (skew 5, weight log 4):
	// n1 2*1.79+2 + 2*1.39+4 = 12, n2 2 + 6.77 = 9, n3 3.79 + 5.39 = 9,
	// n4 (no zone) 2.
	want := map[string]int64{"n1": 16, "n2": 41, "n3": 41, "n4": 100}
	if diff := cmp.Diff(want, scores(t, p, snap, web("p"))); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
	if st := p.PreScore(t.Context(), framework.NewCycleState(snap), ft.MakePod("alone").Obj(), snap.Nodes); !st.IsSkip() {
		t.Errorf("PreScore for a pod of no service = %v, want Skip", st.Code())
	}
}
