// Package volumerestrictions is the VolumeRestrictions filter: a claim
// with the ReadWriteOncePod access mode may be used by one pod only, in
// the whole cluster; and the in-tree disk volumes (GCE PD, AWS EBS, RBD,
// iSCSI) may not be mounted by two pods of one node unless both mount them
// read-only (EBS: never).
package volumerestrictions

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "VolumeRestrictions"

// Upstream's reasons.
const (
	ErrReasonDiskConflict             = "node(s) had no available disk"
	ErrReasonReadWriteOncePodConflict = "node(s) unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use by another pod"
)

// VolumeRestrictions is the plugin. claims finds the pods' claims; with
// nil, ReadWriteOncePod is not checked.
type VolumeRestrictions struct {
	claims corelisters.PersistentVolumeClaimLister
}

var (
	_ framework.PreFilterPlugin   = (*VolumeRestrictions)(nil)
	_ framework.FilterPlugin      = (*VolumeRestrictions)(nil)
	_ framework.PodChangeObserver = (*VolumeRestrictions)(nil)
)

// New returns the plugin.
func New(claims corelisters.PersistentVolumeClaimLister) *VolumeRestrictions {
	return &VolumeRestrictions{claims: claims}
}

// Name returns Name.
func (*VolumeRestrictions) Name() string { return Name }

const stateKey framework.StateKey = Name

// state holds the pod's ReadWriteOncePod claims and, per claim, how many
// placed pods use it.
type state struct {
	rwop  sets.Set[string]
	users map[string]int
	disks bool
}

func (s *state) Clone() framework.StateData {
	c := *s
	c.users = maps.Clone(s.users)
	return &c
}

func (s *state) conflicts() bool {
	for _, n := range s.users {
		if n > 0 {
			return true
		}
	}
	return false
}

func claimNames(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, pod.Name+"-"+v.Name)
		}
	}
	return out
}

func hasDisk(v *corev1.Volume) bool {
	return v.GCEPersistentDisk != nil || v.AWSElasticBlockStore != nil || v.RBD != nil || v.ISCSI != nil
}

// PreFilter finds the pod's ReadWriteOncePod claims and counts the placed
// pods (of the pod's namespace) that use them. A pod with neither such
// claims in use nor in-tree disks skips the filter.
func (pl *VolumeRestrictions) PreFilter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod) *framework.Status {
	s := &state{rwop: sets.New[string](), users: map[string]int{}}
	s.disks = slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return hasDisk(&v) })
	if pl.claims != nil {
		for _, name := range claimNames(pod) {
			pvc, err := pl.claims.PersistentVolumeClaims(pod.Namespace).Get(name)
			if apierrors.IsNotFound(err) {
				return framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
			}
			if err != nil {
				return framework.AsStatus(fmt.Errorf("read claim %s/%s: %w", pod.Namespace, name, err))
			}
			if slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOncePod) {
				s.rwop.Insert(name)
			}
		}
	}
	if s.rwop.Len() > 0 {
		for _, n := range cs.Snapshot().Nodes {
			for _, pi := range n.Pods {
				s.count(pod, pi.Pod, 1)
			}
		}
	}
	if !s.disks && !s.conflicts() {
		return framework.NewStatus(framework.Skip)
	}
	cs.Write(stateKey, s)
	return nil
}

func (s *state) count(pod, other *corev1.Pod, delta int) {
	if other.Namespace != pod.Namespace || other.UID == pod.UID {
		return
	}
	for _, name := range claimNames(other) {
		if s.rwop.Has(name) {
			s.users[name] += delta
		}
	}
}

func (pl *VolumeRestrictions) update(cs *framework.CycleState, pod, other *corev1.Pod, delta int) *framework.Status {
	if d, err := cs.Read(stateKey); err == nil {
		d.(*state).count(pod, other, delta)
	}
	return nil
}

// AddPod counts podToAdd's use of the pod's claims.
func (pl *VolumeRestrictions) AddPod(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, podToAdd *framework.PodInfo, _ *framework.NodeInfo) *framework.Status {
	return pl.update(cs, pod, podToAdd.Pod, 1)
}

// RemovePod stops counting podToRemove's use of the pod's claims.
func (pl *VolumeRestrictions) RemovePod(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, podToRemove *framework.PodInfo, _ *framework.NodeInfo) *framework.Status {
	return pl.update(cs, pod, podToRemove.Pod, -1)
}

// Filter rejects a node where a pod mounts one of the pod's disks in a
// conflicting way, and every node while another pod uses one of its
// ReadWriteOncePod claims. Evicting the other pod would help, so both are
// Unschedulable.
func (pl *VolumeRestrictions) Filter(_ context.Context, cs *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*state)
	if s.disks && diskConflict(pod, node) {
		return framework.NewStatus(framework.Unschedulable, ErrReasonDiskConflict)
	}
	if s.conflicts() {
		return framework.NewStatus(framework.Unschedulable, ErrReasonReadWriteOncePodConflict)
	}
	return nil
}

func diskConflict(pod *corev1.Pod, node *framework.NodeInfo) bool {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if !hasDisk(v) {
			continue
		}
		for _, pi := range node.Pods {
			for j := range pi.Pod.Spec.Volumes {
				if conflict(v, &pi.Pod.Spec.Volumes[j]) {
					return true
				}
			}
		}
	}
	return false
}

// conflict reports whether two in-tree disk volumes may not share a node,
// as upstream: the same disk, unless both are read-only (never for EBS).
func conflict(a, b *corev1.Volume) bool {
	switch {
	case a.GCEPersistentDisk != nil && b.GCEPersistentDisk != nil:
		x, y := a.GCEPersistentDisk, b.GCEPersistentDisk
		return x.PDName == y.PDName && !(x.ReadOnly && y.ReadOnly)
	case a.AWSElasticBlockStore != nil && b.AWSElasticBlockStore != nil:
		return a.AWSElasticBlockStore.VolumeID == b.AWSElasticBlockStore.VolumeID
	case a.ISCSI != nil && b.ISCSI != nil:
		x, y := a.ISCSI, b.ISCSI
		return x.IQN == y.IQN && !(x.ReadOnly && y.ReadOnly)
	case a.RBD != nil && b.RBD != nil:
		x, y := a.RBD, b.RBD
		shared := false
		for _, m := range x.CephMonitors {
			shared = shared || slices.Contains(y.CephMonitors, m)
		}
		return shared && x.RBDPool == y.RBDPool && x.RBDImage == y.RBDImage && !(x.ReadOnly && y.ReadOnly)
	}
	return false
}
