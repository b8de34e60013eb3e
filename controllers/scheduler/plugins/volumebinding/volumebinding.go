// Package volumebinding is the part of upstream's VolumeBinding plugin
// that needs no storage driver: a pod whose PersistentVolumeClaims are
// bound may only run on nodes that every bound PersistentVolume's node
// affinity admits (local volumes, zonal disks). A claim that is missing or
// being deleted, or unbound with Immediate binding, keeps the pod off
// every node until it changes.
//
// Not done yet: unbound claims whose StorageClass binds
// WaitForFirstConsumer are not restricted (upstream matches them to
// available volumes per node and, after placing the pod, marks the claim
// with the selected node for provisioning).
package volumebinding

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "VolumeBinding"

// Upstream's reasons.
const (
	ErrReasonNodeConflict   = "node(s) didn't match PersistentVolume's node affinity"
	ErrReasonPVNotExist     = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	ErrReasonUnboundClaims  = "pod has unbound immediate PersistentVolumeClaims"
	reasonClaimBeingDeleted = "persistentvolumeclaim %q is being deleted"
	reasonClaimLost         = "persistentvolumeclaim %q bound to non-existent persistentvolume %q"
	reasonWaitingEphemeral  = "waiting for ephemeral volume controller to create the persistentvolumeclaim %q"
)

// Listers are what the plugin reads. Classes may be nil: every class then
// binds Immediately.
type Listers struct {
	Claims  corelisters.PersistentVolumeClaimLister
	Volumes corelisters.PersistentVolumeLister
	Classes storagelisters.StorageClassLister
}

// VolumeBinding is the plugin.
type VolumeBinding struct {
	l Listers
}

var (
	_ framework.PreFilterPlugin = (*VolumeBinding)(nil)
	_ framework.FilterPlugin    = (*VolumeBinding)(nil)
)

// New returns the plugin.
func New(l Listers) *VolumeBinding { return &VolumeBinding{l: l} }

// Name returns Name.
func (*VolumeBinding) Name() string { return Name }

const stateKey framework.StateKey = Name

// state is what Filter checks: the node selectors of the bound volumes,
// and whether one of the claims names a volume that does not exist.
type state struct {
	selectors []*nodeaffinity.NodeSelector
	missingPV bool
}

func (s *state) Clone() framework.StateData { return s }

// PreFilter reads the pod's claims and their volumes. A pod without
// claims, or whose volumes have no node affinity, skips the filter.
func (pl *VolumeBinding) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod) *framework.Status {
	s := &state{}
	for _, vol := range pod.Spec.Volumes {
		var name string
		ephemeral := false
		switch {
		case vol.PersistentVolumeClaim != nil:
			name = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			name, ephemeral = pod.Name+"-"+vol.Name, true
		default:
			continue
		}
		if pl.l.Claims == nil {
			continue
		}
		pvc, err := pl.l.Claims.PersistentVolumeClaims(pod.Namespace).Get(name)
		switch {
		case ephemeral && apierrors.IsNotFound(err):
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf(reasonWaitingEphemeral, name))
		case err != nil:
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
		case pvc.Status.Phase == corev1.ClaimLost:
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf(reasonClaimLost, pvc.Name, pvc.Spec.VolumeName))
		case pvc.DeletionTimestamp != nil:
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf(reasonClaimBeingDeleted, pvc.Name))
		}
		if pvc.Spec.VolumeName == "" {
			if !pl.delayed(pvc) {
				return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnboundClaims)
			}
			continue
		}
		if pl.l.Volumes == nil {
			continue
		}
		pv, err := pl.l.Volumes.Get(pvc.Spec.VolumeName)
		if err != nil {
			s.missingPV = true
			continue
		}
		if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
			continue
		}
		sel, err := nodeaffinity.NewNodeSelector(pv.Spec.NodeAffinity.Required)
		if err != nil {
			return framework.AsStatus(fmt.Errorf("node affinity of persistentvolume %q: %w", pv.Name, err))
		}
		s.selectors = append(s.selectors, sel)
	}
	if !s.missingPV && len(s.selectors) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	cs.Write(stateKey, s)
	return nil
}

// delayed reports whether pvc's class binds WaitForFirstConsumer.
func (pl *VolumeBinding) delayed(pvc *corev1.PersistentVolumeClaim) bool {
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if class == "" || pl.l.Classes == nil {
		return false
	}
	sc, err := pl.l.Classes.Get(class)
	if err != nil {
		return false
	}
	return sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
}

// Filter rejects every node when a bound volume is missing, and a node
// that a bound volume's node affinity does not admit.
func (pl *VolumeBinding) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*state)
	if s.missingPV {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPVNotExist)
	}
	for _, sel := range s.selectors {
		if !sel.Match(node.Node()) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeConflict)
		}
	}
	return nil
}
