package framework_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// TestPodsMatchingBounded: past its bound of indexes, a snapshot drops
// the least recently used half; one asked for again is counted again,
// correctly.
func TestPodsMatchingBounded(t *testing.T) {
	snap := framework.NewSnapshot(ft.NodeInfo(ft.MakeNode("n1").Obj(), ft.MakePod("p").Label("app", "web").Obj()))
	calls := map[string]int{}
	ask := func(key string) framework.PodCounts {
		return snap.PodsMatching(key, func(p *corev1.Pod) bool {
			calls[key]++
			return p.Labels["app"] == "web"
		})
	}
	ask("first")
	for i := range 1000 {
		ask("first") // stays recently used
		ask(fmt.Sprintf("k%d", i))
	}
	if calls["first"] != 1 {
		t.Errorf("the recently used index was counted %d times, want once", calls["first"])
	}
	if got := ask("k0"); got["n1"] != 1 || calls["k0"] != 2 {
		t.Errorf("dropped index asked again: counts %v after %d countings, want n1=1 after 2", got, calls["k0"])
	}
}
