package imagelocality

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

type image struct {
	size  int64
	nodes int
}

func nodeWith(images map[string]image) (*framework.NodeInfo, map[string]int) {
	n := ft.NodeInfo(ft.MakeNode("n").Obj())
	counts := map[string]int{}
	for name, im := range images {
		n.Images[name] = im.size
		counts[name] = im.nodes
	}
	return n, counts
}

// TestScore: upstream's image locality: image size scaled by the share of
// nodes holding it, clamped to [23 MiB, 1000 MiB x images], mapped onto
// 0..100; untagged names mean ":latest".
func TestScore(t *testing.T) {
	tests := []struct {
		name   string
		pod    *corev1.Pod
		images map[string]image
		total  int
		want   int64
	}{
		{name: "image absent", pod: ft.MakePod("p").Image("app:1").Obj(), total: 1, want: 0},
		{name: "small image counts as nothing", pod: ft.MakePod("p").Image("app:1").Obj(),
			images: map[string]image{"app:1": {10 * mb, 1}}, total: 1, want: 0},
		{name: "large image on every node", pod: ft.MakePod("p").Image("app:1").Obj(),
			images: map[string]image{"app:1": {1000 * mb, 1}}, total: 1, want: 100},
		{name: "untagged is latest", pod: ft.MakePod("p").Image("app").Obj(),
			images: map[string]image{"app:latest": {523 * mb, 2}}, total: 2, want: 51},
		{name: "spread over half the nodes", pod: ft.MakePod("p").Image("app:1").Obj(),
			images: map[string]image{"app:1": {1000 * mb, 1}}, total: 2, want: 48},
		{name: "two containers, one image present", pod: ft.MakePod("p").Image("app:1").Container("other:1").Obj(),
			images: map[string]image{"app:1": {1000 * mb, 1}}, total: 1, want: 49},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, counts := nodeWith(tt.images)
			if got := Score(tt.pod, node, counts, tt.total); got != tt.want {
				t.Errorf("score = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestPreScore: the score is skipped when no node has any of the pod's
// images (every node would score 0), and kept when one has.
func TestPreScore(t *testing.T) {
	n := ft.NodeInfo(ft.MakeNode("n").Image(500*mb, "app:1").Obj())
	snap := framework.NewSnapshot(n)
	for _, tt := range []struct {
		pod  *corev1.Pod
		skip bool
	}{
		{pod: ft.MakePod("p").Image("other:1").Obj(), skip: true},
		{pod: ft.MakePod("p").Image("other:1").Container("app:1").Obj(), skip: false},
	} {
		st := New().PreScore(t.Context(), framework.NewCycleState(snap), tt.pod, snap.Nodes)
		if st.IsSkip() != tt.skip {
			t.Errorf("pod with %v: skip = %v, want %v", tt.pod.Spec.Containers, st.IsSkip(), tt.skip)
		}
	}
}
