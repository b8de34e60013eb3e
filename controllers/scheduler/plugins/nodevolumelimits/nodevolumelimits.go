// Package nodevolumelimits is upstream's NodeVolumeLimits filter for CSI
// volumes: a node whose CSINode gives a driver an allocatable count takes
// no pod that would bring the number of distinct volumes of that driver
// on the node above it.
//
// A pod's volumes of a driver are its claims' volumes whose source is CSI
// (counted by volume handle) and its unbound claims whose StorageClass's
// provisioner is the driver (counted by claim), as upstream counts them.
// A node without a CSINode, or a driver without a count, has no limit.
//
// Not done: upstream also counts the VolumeAttachments of a node and
// in-tree volumes migrated to CSI drivers; kubelite runs no CSI drivers
// or attach/detach controller that would create them yet.
package nodevolumelimits

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/component-helpers/storage/volume"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeVolumeLimits"

// ErrReasonMaxVolumeCountExceeded is upstream's reason.
const ErrReasonMaxVolumeCountExceeded = "node(s) exceed max volume count"

// Listers are what the plugin reads. Without CSINodes or Claims it does
// nothing; Volumes and Classes may be nil.
type Listers struct {
	CSINodes storagelisters.CSINodeLister
	Claims   corelisters.PersistentVolumeClaimLister
	Volumes  corelisters.PersistentVolumeLister
	Classes  storagelisters.StorageClassLister
}

// CSILimits is the plugin.
type CSILimits struct{ l Listers }

var (
	_ framework.PreFilterPlugin = (*CSILimits)(nil)
	_ framework.FilterPlugin    = (*CSILimits)(nil)
)

// New returns the plugin.
func New(l Listers) *CSILimits { return &CSILimits{l: l} }

// Name returns Name.
func (*CSILimits) Name() string { return Name }

const stateKey framework.StateKey = Name

// volumes are distinct volumes by driver.
type volumes map[string]sets.Set[string]

func (v volumes) Clone() framework.StateData { return v }

// PreFilter finds the pod's CSI volumes; a pod without any skips Filter.
func (pl *CSILimits) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod) *framework.Status {
	if pl.l.CSINodes == nil || pl.l.Claims == nil {
		return framework.NewStatus(framework.Skip)
	}
	v := pl.volumesOf(pod)
	if len(v) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	cs.Write(stateKey, v)
	return nil
}

// Filter rejects a node where a driver's count would go over its limit.
func (pl *CSILimits) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	csiNode, err := pl.l.CSINodes.Get(node.Node().Name)
	if err != nil {
		return nil // no CSINode, no limits
	}
	limits := map[string]int{}
	for _, drv := range csiNode.Spec.Drivers {
		if drv.Allocatable != nil && drv.Allocatable.Count != nil {
			limits[drv.Name] = int(*drv.Allocatable.Count)
		}
	}
	newVolumes := d.(volumes)
	if !anyLimited(newVolumes, limits) {
		return nil
	}
	attached := volumes{}
	for _, pi := range node.Pods {
		for drv, names := range pl.volumesOf(pi.Pod) {
			if attached[drv] == nil {
				attached[drv] = sets.New[string]()
			}
			attached[drv] = attached[drv].Union(names)
		}
	}
	for drv, names := range newVolumes {
		limit, ok := limits[drv]
		if !ok {
			continue
		}
		if attached[drv].Len()+names.Difference(attached[drv]).Len() > limit {
			return framework.NewStatus(framework.Unschedulable, ErrReasonMaxVolumeCountExceeded)
		}
	}
	return nil
}

func anyLimited(v volumes, limits map[string]int) bool {
	for drv := range v {
		if _, ok := limits[drv]; ok {
			return true
		}
	}
	return false
}

// volumesOf returns a pod's CSI volumes by driver.
func (pl *CSILimits) volumesOf(pod *corev1.Pod) volumes {
	out := volumes{}
	add := func(drv, name string) {
		if out[drv] == nil {
			out[drv] = sets.New[string]()
		}
		out[drv].Insert(name)
	}
	for _, vol := range pod.Spec.Volumes {
		var claimName string
		switch {
		case vol.PersistentVolumeClaim != nil:
			claimName = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			claimName = pod.Name + "-" + vol.Name
		default:
			continue
		}
		pvc, err := pl.l.Claims.PersistentVolumeClaims(pod.Namespace).Get(claimName)
		if err != nil {
			continue
		}
		if pvc.Spec.VolumeName != "" {
			if pl.l.Volumes == nil {
				continue
			}
			if pv, err := pl.l.Volumes.Get(pvc.Spec.VolumeName); err == nil && pv.Spec.CSI != nil {
				add(pv.Spec.CSI.Driver, pv.Spec.CSI.Driver+"/"+pv.Spec.CSI.VolumeHandle)
			}
			continue
		}
		class := volume.GetPersistentVolumeClaimClass(pvc)
		if class == "" || pl.l.Classes == nil {
			continue
		}
		if sc, err := pl.l.Classes.Get(class); err == nil && sc.Provisioner != "" {
			add(sc.Provisioner, sc.Provisioner+"/claim/"+pvc.Namespace+"/"+pvc.Name)
		}
	}
	return out
}
