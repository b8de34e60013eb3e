package apis

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestEveryServedVersionHasAPriority keeps Priorities in step with Groups:
// every served group version but apiregistration.k8s.io's own has one, and
// within a group the preferred version has the highest.
func TestEveryServedVersionHasAPriority(t *testing.T) {
	priorities := Priorities()
	for _, g := range Groups() {
		var last int32
		for i, v := range g.Versions {
			gv := schema.GroupVersion{Group: g.Name, Version: v}
			p, ok := priorities[gv]
			if g.Name == "apiregistration.k8s.io" {
				if ok {
					t.Errorf("%v has a priority; upstream registers no APIService for it", gv)
				}
				continue
			}
			if !ok {
				t.Errorf("%v has no priority", gv)
				continue
			}
			if i > 0 && p.Version >= last {
				t.Errorf("%v's version priority %d is not below the preferred version's %d", gv, p.Version, last)
			}
			last = p.Version
		}
	}
}
