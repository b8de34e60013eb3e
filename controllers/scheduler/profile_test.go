package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDefaultProfile: the filters run in upstream's order and the scores
// carry upstream's default weights (the default profile of
// pkg/scheduler/apis/config/v1/default_plugins.go in v1.37: TaintToleration
// 3, NodeAffinity 2, NodeResourcesFit 1, PodTopologySpread 2,
// InterPodAffinity 2, NodeResourcesBalancedAllocation 1, ImageLocality 1).
func TestDefaultProfile(t *testing.T) {
	p := newProfile(defaultPlugins(listers{}))
	var filters []string
	for _, pl := range p.filter {
		filters = append(filters, pl.Name())
	}
	wantFilters := []string{"NodeName", "NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit",
		"VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding", "VolumeZone", "PodTopologySpread", "InterPodAffinity"}
	if diff := cmp.Diff(wantFilters, filters); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	weights := map[string]int64{}
	for _, pl := range p.score {
		weights[pl.Name()] = pl.weight
	}
	wantWeights := map[string]int64{"TaintToleration": 3, "NodeAffinity": 2, "NodeResourcesFit": 1, "PodTopologySpread": 2,
		"InterPodAffinity": 2, "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1}
	if diff := cmp.Diff(wantWeights, weights); diff != "" {
		t.Errorf("score weights (-want +got):\n%s", diff)
	}
}
