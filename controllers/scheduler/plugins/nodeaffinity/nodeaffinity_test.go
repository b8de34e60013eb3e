package nodeaffinity

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

func requiredIn(key string, values ...string) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}},
		}}},
	}}
}

// TestFilter: upstream requires both the nodeSelector and the required
// affinity to match; terms are ORed, expressions within a term ANDed;
// matchFields can name the node.
func TestFilter(t *testing.T) {
	node := ft.MakeNode("n1").Label("zone", "a").Label("disk", "ssd").Obj()
	byName := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
			{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"b"}}}},
			{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}},
		}},
	}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want framework.Code
	}{
		{"nothing required", ft.MakePod("p").Obj(), framework.Success},
		{"selector matches", ft.MakePod("p").NodeSelector("zone", "a").Obj(), framework.Success},
		{"selector does not match", ft.MakePod("p").NodeSelector("zone", "b").Obj(), framework.UnschedulableAndUnresolvable},
		{"affinity matches", ft.MakePod("p").Affinity(requiredIn("disk", "hdd", "ssd")).Obj(), framework.Success},
		{"affinity does not match", ft.MakePod("p").Affinity(requiredIn("disk", "hdd")).Obj(), framework.UnschedulableAndUnresolvable},
		{"selector matches, affinity does not", ft.MakePod("p").NodeSelector("zone", "a").Affinity(requiredIn("disk", "hdd")).Obj(), framework.UnschedulableAndUnresolvable},
		{"second term by field matches", ft.MakePod("p").Affinity(byName).Obj(), framework.Success},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			state := framework.NewCycleState(nil)
			if st := p.PreFilter(t.Context(), state, tt.pod); st.IsSkip() {
				if tt.want != framework.Success {
					t.Fatal("PreFilter skipped a pod with requirements")
				}
				return
			}
			got := p.Filter(t.Context(), state, tt.pod, ft.NodeInfo(node))
			if got.Code() != tt.want {
				t.Errorf("code = %v, want %v", got.Code(), tt.want)
			}
			if tt.want != framework.Success && got.Message() != ErrReason {
				t.Errorf("message = %q", got.Message())
			}
		})
	}
}

// TestScore: upstream sums the weights of matching preferred terms and
// scales the best node to 100.
func TestScore(t *testing.T) {
	pod := ft.MakePod("p").Affinity(&corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
			{Weight: 2, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}},
			{Weight: 6, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpExists}}}},
		},
	}}).Obj()
	nodes := []*corev1.Node{
		ft.MakeNode("none").Obj(),
		ft.MakeNode("zone").Label("zone", "a").Obj(),
		ft.MakeNode("disk").Label("disk", "x").Obj(),
		ft.MakeNode("both").Label("zone", "a").Label("disk", "x").Obj(),
	}
	p := New()
	state := framework.NewCycleState(nil)
	if st := p.PreScore(t.Context(), state, pod, nil); !st.IsSuccess() {
		t.Fatal(st.AsError())
	}
	var scores []framework.NodeScore
	for _, n := range nodes {
		s, _ := p.Score(t.Context(), state, pod, ft.NodeInfo(n))
		scores = append(scores, framework.NodeScore{Name: n.Name, Score: s})
	}
	p.NormalizeScore(t.Context(), state, pod, scores)
	want := map[string]int64{"none": 0, "zone": 25, "disk": 75, "both": 100}
	if diff := cmp.Diff(want, ft.ScoreMap(scores)); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
	if st := p.PreScore(t.Context(), state, ft.MakePod("q").Obj(), nil); !st.IsSkip() {
		t.Errorf("PreScore without preferences = %v, want Skip", st.Code())
	}
}

// TestNamedNodes: upstream's PreFilterResult rule: only when every term
// names nodes; a term's names intersect, the terms' names unite.
func TestNamedNodes(t *testing.T) {
	name := func(values ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: values}
	}
	tests := []struct {
		name  string
		terms []corev1.NodeSelectorTerm
		want  []string
		ok    bool
	}{
		{"one term", []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{name("a", "b")}}}, []string{"a", "b"}, true},
		{"ANDed within a term", []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{name("a", "b"), name("b", "c")}}}, []string{"b"}, true},
		{"ORed terms", []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{name("a")}}, {MatchFields: []corev1.NodeSelectorRequirement{name("c")}}}, []string{"a", "c"}, true},
		{"a term without names", []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{name("a")}}, {}}, nil, false},
		{"conflict", []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{name("a"), name("b")}}}, []string{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NamedNodes(tt.terms)
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if ok {
				if diff := cmp.Diff(tt.want, sets.List(got)); diff != "" {
					t.Errorf("names (-want +got):\n%s", diff)
				}
			}
		})
	}
}
