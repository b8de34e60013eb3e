// Package volumezone is the VolumeZone filter: a pod whose claims are
// bound to volumes labelled with a zone or region may only run on a node in
// one of those zones or regions. Nodes without any zone or region label
// are not restricted, as upstream.
package volumezone

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "VolumeZone"

// ErrReason is upstream's reason for a node outside the volumes' zones.
const ErrReason = "node(s) had no available volume zone"

// topologyLabels are the volume labels that restrict nodes, with the GA
// label a node may carry instead of each beta one.
func topologyLabels() map[string]string {
	return map[string]string{
		corev1.LabelFailureDomainBetaZone:   corev1.LabelTopologyZone,
		corev1.LabelFailureDomainBetaRegion: corev1.LabelTopologyRegion,
		corev1.LabelTopologyZone:            corev1.LabelTopologyZone,
		corev1.LabelTopologyRegion:          corev1.LabelTopologyRegion,
	}
}

// Listers are what the plugin reads; with either nil it checks nothing.
type Listers struct {
	Claims  corelisters.PersistentVolumeClaimLister
	Volumes corelisters.PersistentVolumeLister
}

// VolumeZone is the plugin.
type VolumeZone struct{ l Listers }

var (
	_ framework.PreFilterPlugin = (*VolumeZone)(nil)
	_ framework.FilterPlugin    = (*VolumeZone)(nil)
)

// New returns the plugin.
func New(l Listers) *VolumeZone { return &VolumeZone{l: l} }

// Name returns Name.
func (*VolumeZone) Name() string { return Name }

const stateKey framework.StateKey = Name

// constraint is one volume label: the node's label key (or its GA twin)
// must have one of values.
type constraint struct {
	key, ga string
	values  sets.Set[string]
}

type state []constraint

func (s state) Clone() framework.StateData { return s }

// PreFilter collects the zone and region labels of the pod's bound
// volumes; a pod without any skips the filter. Missing claims and volumes
// are the VolumeBinding plugin's to report.
func (pl *VolumeZone) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod) *framework.Status {
	if pl.l.Claims == nil || pl.l.Volumes == nil {
		return framework.NewStatus(framework.Skip)
	}
	var s state
	labels := topologyLabels()
	for _, vol := range pod.Spec.Volumes {
		name := ""
		switch {
		case vol.PersistentVolumeClaim != nil:
			name = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			name = pod.Name + "-" + vol.Name
		default:
			continue
		}
		pvc, err := pl.l.Claims.PersistentVolumeClaims(pod.Namespace).Get(name)
		if err != nil || pvc.Spec.VolumeName == "" {
			continue
		}
		pv, err := pl.l.Volumes.Get(pvc.Spec.VolumeName)
		if err != nil {
			continue
		}
		for key, ga := range labels {
			if v, ok := pv.Labels[key]; ok {
				// Upstream's multi-zone volumes list zones joined by "__".
				s = append(s, constraint{key: key, ga: ga, values: sets.New(strings.Split(v, "__")...)})
			}
		}
	}
	if len(s) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	cs.Write(stateKey, s)
	return nil
}

// Filter rejects a node with zone or region labels that match none of a
// volume's.
func (pl *VolumeZone) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	nodeLabels := node.Node().Labels
	constrained := false
	for key := range topologyLabels() {
		if _, ok := nodeLabels[key]; ok {
			constrained = true
			break
		}
	}
	if !constrained {
		return nil
	}
	for _, c := range d.(state) {
		v, ok := nodeLabels[c.key]
		if !ok {
			v, ok = nodeLabels[c.ga]
		}
		if !ok || !c.values.Has(v) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason)
		}
	}
	return nil
}
