// Package volumebinding is upstream's VolumeBinding plugin without CSI
// storage capacity: it places a pod only where all its
// PersistentVolumeClaims can be had, and binds the unbound ones before
// the pod is bound.
//
//   - A bound claim (spec.volumeName set and pv.kubernetes.io/bind-completed)
//     admits only the nodes its volume's node affinity admits; a volume that
//     does not exist admits none.
//   - An unbound claim whose StorageClass binds WaitForFirstConsumer is
//     matched per node: to the smallest Available volume of its class whose
//     node affinity admits the node (claims of one pod in increasing size,
//     each volume taken once), else to dynamic provisioning when the class
//     has a provisioner and its allowedTopologies admit the node. A node
//     where neither works is rejected with upstream's "node(s) didn't find
//     available persistent volumes to bind".
//   - Any other unbound claim (Immediate binding, or pre-bound by the user
//     and not bound yet), a claim that is missing, being deleted or lost
//     keeps the pod off every node until it changes.
//
// After a node is chosen, Reserve keeps the volumes chosen for it from
// other pods' cycles; PreBind writes the bindings (the volume's claimRef,
// as upstream's scheduler does, for the PV controller to finish) and the
// volume.kubernetes.io/selected-node annotation on the claims to
// provision, then waits, up to the bind timeout, until every claim is
// bound. A claim whose provisioning failed (the PV controller drops the
// annotation) or a volume that was taken meanwhile fails PreBind, and the
// pod is scheduled again.
package volumebinding

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/component-helpers/storage/volume"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "VolumeBinding"

// DefaultBindTimeout is upstream's bindTimeoutSeconds: how long PreBind
// waits for the claims to be bound.
const DefaultBindTimeout = 600 * time.Second

// Upstream's reasons.
const (
	ErrReasonBindConflict   = "node(s) didn't find available persistent volumes to bind"
	ErrReasonNodeConflict   = "node(s) didn't match PersistentVolume's node affinity"
	ErrReasonPVNotExist     = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	ErrReasonUnboundClaims  = "pod has unbound immediate PersistentVolumeClaims"
	reasonClaimBeingDeleted = "persistentvolumeclaim %q is being deleted"
	reasonClaimLost         = "persistentvolumeclaim %q bound to non-existent persistentvolume %q"
	reasonWaitingEphemeral  = "waiting for ephemeral volume controller to create the persistentvolumeclaim %q"
)

// Listers are what the plugin reads, and Client what PreBind writes with.
// Classes may be nil: every class then binds Immediately. Without Client
// unbound WaitForFirstConsumer claims keep their pods off every node.
type Listers struct {
	Claims  corelisters.PersistentVolumeClaimLister
	Volumes corelisters.PersistentVolumeLister
	Classes storagelisters.StorageClassLister
	Client  kubernetes.Interface
	// BindTimeout bounds PreBind's wait. Zero: DefaultBindTimeout.
	BindTimeout time.Duration
}

// VolumeBinding is the plugin.
type VolumeBinding struct {
	l Listers

	mu sync.Mutex
	// assumed holds the volumes reserved for a claim ("ns/name") by a pod
	// whose binding is under way; other claims may not take them.
	assumed map[string]string
}

var (
	_ framework.PreFilterPlugin = (*VolumeBinding)(nil)
	_ framework.FilterPlugin    = (*VolumeBinding)(nil)
	_ framework.ReservePlugin   = (*VolumeBinding)(nil)
	_ framework.PreBindPlugin   = (*VolumeBinding)(nil)
)

// New returns the plugin.
func New(l Listers) *VolumeBinding {
	if l.BindTimeout == 0 {
		l.BindTimeout = DefaultBindTimeout
	}
	return &VolumeBinding{l: l, assumed: map[string]string{}}
}

// Name returns Name.
func (*VolumeBinding) Name() string { return Name }

const stateKey framework.StateKey = Name

// state is what Filter checks: the node selectors of the bound volumes,
// whether one of the claims names a volume that does not exist, and the
// unbound WaitForFirstConsumer claims with the candidate volumes of their
// classes. Reserve adds the decision for the chosen node.
type state struct {
	selectors []*nodeaffinity.NodeSelector
	missingPV bool
	delayed   []*corev1.PersistentVolumeClaim
	volumes   map[string][]*corev1.PersistentVolume // by class
	classes   map[string]*storagev1.StorageClass

	// node is the chosen node; bindings and provision what Reserve
	// decided for it; seen the volumes and claims PreBind has seen with
	// its claimRef or selected node in the cache.
	node      *corev1.Node
	bindings  []binding
	provision []*corev1.PersistentVolumeClaim
	seen      map[string]bool
}

// binding is a volume chosen for a claim.
type binding struct {
	pv  *corev1.PersistentVolume
	pvc *corev1.PersistentVolumeClaim
}

func (s *state) Clone() framework.StateData { return s }

func claimKey(pvc *corev1.PersistentVolumeClaim) string { return pvc.Namespace + "/" + pvc.Name }

// PreFilter reads the pod's claims and their volumes. A pod without
// claims, or whose bound volumes have no node affinity and that has no
// claims to bind, skips the filter.
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
		if !fullyBound(pvc) {
			if pvc.Spec.VolumeName != "" || !pl.delayed(pvc) || pl.l.Client == nil {
				return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnboundClaims)
			}
			s.delayed = append(s.delayed, pvc)
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
	if !s.missingPV && len(s.selectors) == 0 && len(s.delayed) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	if len(s.delayed) > 0 {
		if err := pl.readCandidates(s); err != nil {
			return framework.AsStatus(err)
		}
	}
	cs.Write(stateKey, s)
	return nil
}

// fullyBound: the PV controller has finished binding the claim.
func fullyBound(pvc *corev1.PersistentVolumeClaim) bool {
	return pvc.Spec.VolumeName != "" && metav1.HasAnnotation(pvc.ObjectMeta, volume.AnnBindCompleted)
}

// readCandidates fills in the classes of the delayed claims and the
// volumes of those classes, smallest claims first.
func (pl *VolumeBinding) readCandidates(s *state) error {
	slices.SortStableFunc(s.delayed, func(a, b *corev1.PersistentVolumeClaim) int {
		qa, qb := a.Spec.Resources.Requests[corev1.ResourceStorage], b.Spec.Resources.Requests[corev1.ResourceStorage]
		return qa.Cmp(qb)
	})
	s.volumes = map[string][]*corev1.PersistentVolume{}
	s.classes = map[string]*storagev1.StorageClass{}
	var all []*corev1.PersistentVolume
	if pl.l.Volumes != nil {
		var err error
		if all, err = pl.l.Volumes.List(labels.Everything()); err != nil {
			return err
		}
	}
	for _, pvc := range s.delayed {
		name := volume.GetPersistentVolumeClaimClass(pvc)
		if _, ok := s.classes[name]; ok {
			continue
		}
		class, err := pl.l.Classes.Get(name)
		if err != nil {
			return err
		}
		s.classes[name] = class
		for _, pv := range all {
			if volume.GetPersistentVolumeClass(pv) == name {
				s.volumes[name] = append(s.volumes[name], pv)
			}
		}
	}
	return nil
}

// delayed reports whether pvc's class binds WaitForFirstConsumer.
func (pl *VolumeBinding) delayed(pvc *corev1.PersistentVolumeClaim) bool {
	class := volume.GetPersistentVolumeClaimClass(pvc)
	if class == "" || pl.l.Classes == nil {
		return false
	}
	sc, err := pl.l.Classes.Get(class)
	if err != nil {
		return false
	}
	return sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
}

// Filter rejects every node when a bound volume is missing, a node that a
// bound volume's node affinity does not admit, and a node where the
// delayed claims can neither be matched nor provisioned.
func (pl *VolumeBinding) Filter(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, node *framework.NodeInfo) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	s := d.(*state)
	if s.missingPV {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPVNotExist)
	}
	var reasons []string
	for _, sel := range s.selectors {
		if !sel.Match(node.Node()) {
			reasons = append(reasons, ErrReasonNodeConflict)
			break
		}
	}
	if len(s.delayed) > 0 {
		_, _, ok, err := pl.match(s, node.Node())
		if err != nil {
			return framework.AsStatus(err)
		}
		if !ok {
			reasons = append(reasons, ErrReasonBindConflict)
		}
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)
	}
	return nil
}

// match decides, for node, which volume each delayed claim binds and
// which claims are provisioned; ok is false when some claim can have
// neither there.
func (pl *VolumeBinding) match(s *state, node *corev1.Node) (bindings []binding, provision []*corev1.PersistentVolumeClaim, ok bool, err error) {
	pl.mu.Lock()
	excluded := map[string]*corev1.PersistentVolume{}
	for _, pvc := range s.delayed {
		for _, pv := range s.volumes[volume.GetPersistentVolumeClaimClass(pvc)] {
			if owner, taken := pl.assumed[pv.Name]; taken && owner != claimKey(pvc) {
				excluded[pv.Name] = pv
			}
		}
	}
	pl.mu.Unlock()
	for _, pvc := range s.delayed {
		className := volume.GetPersistentVolumeClaimClass(pvc)
		pv, err := volume.FindMatchingVolume(pvc, s.volumes[className], node, excluded, true, true)
		if err != nil {
			return nil, nil, false, err
		}
		if pv != nil {
			excluded[pv.Name] = pv
			bindings = append(bindings, binding{pv: pv, pvc: pvc})
			continue
		}
		class := s.classes[className]
		if class.Provisioner == "" || class.Provisioner == volume.NotSupportedProvisioner || !topologyAdmits(class.AllowedTopologies, node.Labels) {
			return nil, nil, false, nil
		}
		provision = append(provision, pvc)
	}
	return bindings, provision, true, nil
}

// topologyAdmits reports whether a class's allowedTopologies admit a node
// with labels: no terms admit every node; otherwise some term must have
// each of its keys with one of its values.
func topologyAdmits(terms []corev1.TopologySelectorTerm, nodeLabels map[string]string) bool {
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		ok := true
		for _, e := range t.MatchLabelExpressions {
			if v, has := nodeLabels[e.Key]; !has || !slices.Contains(e.Values, v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Reserve decides the bindings and provisioning for the chosen node and
// keeps its volumes from other claims until PreBind is done.
func (pl *VolumeBinding) Reserve(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, nodeName string) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil // skipped: nothing to bind
	}
	s := d.(*state)
	if len(s.delayed) == 0 {
		return nil
	}
	node, ok := cs.Snapshot().ByName[nodeName]
	if !ok {
		return framework.AsStatus(fmt.Errorf("node %q is not in the snapshot", nodeName))
	}
	bindings, provision, ok, err := pl.match(s, node.Node())
	if err != nil {
		return framework.AsStatus(err)
	}
	if !ok {
		return framework.NewStatus(framework.Unschedulable, ErrReasonBindConflict)
	}
	s.node, s.bindings, s.provision, s.seen = node.Node(), bindings, provision, map[string]bool{}
	pl.mu.Lock()
	for _, b := range bindings {
		pl.assumed[b.pv.Name] = claimKey(b.pvc)
	}
	pl.mu.Unlock()
	return nil
}

// Unreserve frees the volumes Reserve kept.
func (pl *VolumeBinding) Unreserve(_ context.Context, cs *framework.CycleState, _ *corev1.Pod, _ string) {
	if d, err := cs.Read(stateKey); err == nil {
		pl.release(d.(*state))
	}
}

func (pl *VolumeBinding) release(s *state) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, b := range s.bindings {
		if pl.assumed[b.pv.Name] == claimKey(b.pvc) {
			delete(pl.assumed, b.pv.Name)
		}
	}
}

// PreBind binds the chosen volumes, marks the claims to provision with the
// node, and waits until every claim is bound.
func (pl *VolumeBinding) PreBind(ctx context.Context, cs *framework.CycleState, pod *corev1.Pod, nodeName string) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil
	}
	s := d.(*state)
	if len(s.bindings) == 0 && len(s.provision) == 0 {
		return nil
	}
	defer pl.release(s)
	if err := pl.write(ctx, s, nodeName); err != nil {
		return framework.AsStatus(err)
	}
	var check error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, pl.l.BindTimeout, true, func(context.Context) (bool, error) {
		var done bool
		done, check = pl.bound(s, s.node)
		return done || check != nil, nil
	})
	if check != nil {
		return framework.AsStatus(fmt.Errorf("binding volumes: %w", check))
	}
	if err != nil {
		return framework.AsStatus(fmt.Errorf("binding volumes: %w", err))
	}
	return nil
}

// write posts the volumes' claimRefs and the claims' selected node.
func (pl *VolumeBinding) write(ctx context.Context, s *state, nodeName string) error {
	for _, b := range s.bindings {
		pv, dirty, err := volume.GetBindVolumeToClaim(b.pv, b.pvc)
		if err != nil {
			return err
		}
		if dirty {
			if _, err := pl.l.Client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("bind persistentvolume %q to claim %q: %w", pv.Name, claimKey(b.pvc), err)
			}
		}
	}
	for _, pvc := range s.provision {
		if pvc.Annotations[volume.AnnSelectedNode] == nodeName {
			continue
		}
		// Read it again: the PV controller may have annotated it since
		// the cycle's copy.
		cur, err := pl.l.Client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Get(ctx, pvc.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pvc.UID || cur.Spec.VolumeName != "" {
			continue // replaced, or bound meanwhile: checked below
		}
		metav1.SetMetaDataAnnotation(&cur.ObjectMeta, volume.AnnSelectedNode, nodeName)
		if _, err := pl.l.Client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("select node for claim %q: %w", claimKey(pvc), err)
		}
	}
	return nil
}

// bound reports whether all the claims PreBind acted on are bound, or an
// error when one can no longer be: its volume went to another claim or
// lost the claimRef after the cache had shown it, its provisioning failed
// (the PV controller dropped the selected node after the cache had shown
// it), or its new volume does not fit the node.
func (pl *VolumeBinding) bound(s *state, node *corev1.Node) (bool, error) {
	done := true
	for _, b := range s.bindings {
		pv, err := pl.l.Volumes.Get(b.pv.Name)
		if err != nil {
			return false, fmt.Errorf("persistentvolume %q: %w", b.pv.Name, err)
		}
		switch ref := pv.Spec.ClaimRef; {
		case ref != nil && ref.UID == b.pvc.UID:
			s.seen[pv.Name] = true
		case ref != nil && ref.UID != "":
			return false, fmt.Errorf("persistentvolume %q was bound to another claim", pv.Name)
		case s.seen[pv.Name]:
			return false, fmt.Errorf("ClaimRef got reset for persistentvolume %q", pv.Name)
		default:
			done = false // the cache has not shown our write yet
			continue
		}
		pvc, err := pl.l.Claims.PersistentVolumeClaims(b.pvc.Namespace).Get(b.pvc.Name)
		if err != nil {
			return false, err
		}
		done = done && fullyBound(pvc)
	}
	for _, p := range s.provision {
		pvc, err := pl.l.Claims.PersistentVolumeClaims(p.Namespace).Get(p.Name)
		if err != nil {
			return false, err
		}
		if pvc.UID != p.UID {
			return false, fmt.Errorf("persistentvolumeclaim %q was replaced", claimKey(p))
		}
		if fullyBound(pvc) {
			pv, err := pl.l.Volumes.Get(pvc.Spec.VolumeName)
			if err != nil {
				done = false // not in the cache yet
				continue
			}
			if err := volume.CheckNodeAffinity(pv, node.Labels); err != nil {
				return false, fmt.Errorf("persistentvolume %q does not fit node %q: %w", pv.Name, node.Name, err)
			}
			continue
		}
		switch selected := pvc.Annotations[volume.AnnSelectedNode]; {
		case selected == node.Name:
			s.seen[claimKey(p)] = true
		case s.seen[claimKey(p)]:
			return false, fmt.Errorf("provisioning failed for PVC %q", pvc.Name)
		}
		done = false
	}
	return done, nil
}
