package interpodaffinity

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

const zone = "topology.kubernetes.io/zone"

func term(key, value, topologyKey string, namespaces ...string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{key: value}},
		TopologyKey:   topologyKey, Namespaces: namespaces,
	}
}

func affinity(terms ...corev1.PodAffinityTerm) *corev1.Affinity {
	return &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
}

func anti(terms ...corev1.PodAffinityTerm) *corev1.Affinity {
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
}

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

// TestFilter encodes upstream's required (anti-)affinity: the pod's
// affinity needs a selected pod in the node's domain (or, when none exists
// anywhere, the pod selecting itself), its anti-affinity no selected pod
// there, and placed pods' anti-affinity must not select it.
func TestFilter(t *testing.T) {
	db := ft.MakePod("db").Label("app", "db").Obj()
	web := ft.MakePod("web").Label("app", "web").Obj()
	guard := ft.MakePod("guard").Label("app", "guard").Affinity(anti(term("app", "web", zone))).Obj()
	otherNS := ft.MakePod("db-other").Namespace("other").Label("app", "db").Obj()
	tests := []struct {
		name string
		pod  *corev1.Pod
		pods map[string][]*corev1.Pod
		want map[string]string // node -> reason; absent: fits
	}{
		{
			name: "affinity by hostname goes to the db's node",
			pod:  ft.MakePod("p").Affinity(affinity(term("app", "db", corev1.LabelHostname))).Obj(),
			pods: map[string][]*corev1.Pod{"n1": {db}},
			want: map[string]string{"n2": ErrReasonAffinity, "n3": ErrReasonAffinity, "n4": ErrReasonAffinity},
		},
		{
			name: "affinity by zone goes to the db's zone, not to nodes without the key",
			pod:  ft.MakePod("p").Affinity(affinity(term("app", "db", zone))).Obj(),
			pods: map[string][]*corev1.Pod{"n1": {db}},
			want: map[string]string{"n3": ErrReasonAffinity, "n4": ErrReasonAffinity},
		},
		{
			name: "first pod of a group that selects itself fits where the key exists",
			pod:  ft.MakePod("p").Label("app", "db").Affinity(affinity(term("app", "db", zone))).Obj(),
			want: map[string]string{"n4": ErrReasonAffinity},
		},
		{
			name: "no pod selected anywhere and not self-selecting",
			pod:  ft.MakePod("p").Affinity(affinity(term("app", "db", zone))).Obj(),
			want: map[string]string{"n1": ErrReasonAffinity, "n2": ErrReasonAffinity, "n3": ErrReasonAffinity, "n4": ErrReasonAffinity},
		},
		{
			name: "term's namespaces decide which pods count",
			pod:  ft.MakePod("p").Affinity(affinity(term("app", "db", zone))).Obj(),
			pods: map[string][]*corev1.Pod{"n3": {otherNS}},
			want: map[string]string{"n1": ErrReasonAffinity, "n2": ErrReasonAffinity, "n3": ErrReasonAffinity, "n4": ErrReasonAffinity},
		},
		{
			name: "listed namespace counts",
			pod:  ft.MakePod("p").Affinity(affinity(term("app", "db", zone, "other"))).Obj(),
			pods: map[string][]*corev1.Pod{"n3": {otherNS}},
			want: map[string]string{"n1": ErrReasonAffinity, "n2": ErrReasonAffinity, "n4": ErrReasonAffinity},
		},
		{
			name: "anti-affinity keeps out of the web's zone",
			pod:  ft.MakePod("p").Affinity(anti(term("app", "web", zone))).Obj(),
			pods: map[string][]*corev1.Pod{"n1": {web}},
			want: map[string]string{"n1": ErrReasonAntiAffinity, "n2": ErrReasonAntiAffinity},
		},
		{
			name: "placed pod's anti-affinity keeps the web out of its zone",
			pod:  ft.MakePod("p").Label("app", "web").Obj(),
			pods: map[string][]*corev1.Pod{"n2": {guard}},
			want: map[string]string{"n1": ErrReasonExistingAntiAffinity, "n2": ErrReasonExistingAntiAffinity},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := cluster(tt.pods)
			p := New(nil)
			state := framework.NewCycleState(snap)
			got := map[string]string{}
			if st := p.PreFilter(t.Context(), state, tt.pod); st.IsSkip() {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("skipped, but (-want +got):\n%s", diff)
				}
				return
			}
			for _, n := range snap.Nodes {
				if st := p.Filter(t.Context(), state, tt.pod, n); !st.IsSuccess() {
					got[n.Node().Name] = st.Message()
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPodChanges: preemption's what-if: removing the only selected pod
// fails affinity; putting it back restores it; the clone is unaffected.
func TestPodChanges(t *testing.T) {
	db := ft.MakePod("db").Label("app", "db").Obj()
	snap := cluster(map[string][]*corev1.Pod{"n1": {db}})
	pod := ft.MakePod("p").Affinity(affinity(term("app", "db", zone))).Obj()
	p := New(nil)
	state := framework.NewCycleState(snap)
	p.PreFilter(t.Context(), state, pod)
	n1 := snap.ByName["n1"]
	clone := state.Clone()
	p.RemovePod(t.Context(), clone, pod, n1.Pods[0], n1)
	if st := p.Filter(t.Context(), clone, pod, n1); st.IsSuccess() {
		t.Error("fits with the db removed")
	}
	if st := p.Filter(t.Context(), state, pod, n1); !st.IsSuccess() {
		t.Errorf("original state changed: %v", st.Message())
	}
	p.AddPod(t.Context(), clone, pod, n1.Pods[0], n1)
	if st := p.Filter(t.Context(), clone, pod, n1); !st.IsSuccess() {
		t.Errorf("does not fit with the db back: %v", st.Message())
	}
}

// TestScore: upstream's preferred terms add their weight to each node in a
// domain with a selected pod (anti subtract), placed pods' required
// affinity selecting the pod adds 1, and scores are min-max normalized.
func TestScore(t *testing.T) {
	db := ft.MakePod("db").Label("app", "db").Obj()
	web := ft.MakePod("web").Label("app", "web").Obj()
	pod := ft.MakePod("p").Affinity(&corev1.Affinity{
		PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
			{Weight: 10, PodAffinityTerm: term("app", "db", zone)},
		}},
		PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{
			{Weight: 5, PodAffinityTerm: term("app", "web", corev1.LabelHostname)},
		}},
	}).Obj()
	snap := cluster(map[string][]*corev1.Pod{"n1": {db, web}})
	p := New(nil)
	state := framework.NewCycleState(snap)
	if st := p.PreScore(t.Context(), state, pod, snap.Nodes); !st.IsSuccess() {
		t.Fatal(st.Code())
	}
	var scores []framework.NodeScore
	for _, n := range snap.Nodes {
		s, _ := p.Score(t.Context(), state, pod, n)
		scores = append(scores, framework.NodeScore{Name: n.Node().Name, Score: s})
	}
	// raw: n1 10-5=5, n2 10, n3 0, n4 0.
	p.NormalizeScore(t.Context(), state, pod, scores)
	want := map[string]int64{"n1": 50, "n2": 100, "n3": 0, "n4": 0}
	if diff := cmp.Diff(want, ft.ScoreMap(scores)); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
	if st := p.PreScore(t.Context(), framework.NewCycleState(snap), ft.MakePod("q").Obj(), snap.Nodes); !st.IsSkip() {
		t.Errorf("PreScore with nothing to count = %v, want Skip", st.Code())
	}
}
