package persistentvolume

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/auth/admission/storage"
)

// Upstream's event reasons and messages.
const (
	reasonFailedBinding         = "FailedBinding"
	reasonVolumeMismatch        = "VolumeMismatch"
	reasonWaitForFirstConsumer  = "WaitForFirstConsumer"
	reasonProvisioningFailed    = "ProvisioningFailed"
	reasonProvisioningSucceeded = "ProvisioningSucceeded"
	reasonExternalProvisioning  = "ExternalProvisioning"
	reasonVolumeFailedDelete    = "VolumeFailedDelete"
	reasonVolumeFailedRecycle   = "VolumeFailedRecycle"
	reasonVolumeUnknownPolicy   = "VolumeUnknownReclaimPolicy"

	msgWaitForFirstConsumer = "waiting for first consumer to be created before binding"
)

func (c *Controller) syncClaimKey(ctx context.Context, ns, name string) error {
	pvc, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// Its volume, if any, is released by the volume's sync.
		return nil
	}
	if err != nil {
		return err
	}
	if !metav1.HasAnnotation(pvc.ObjectMeta, volume.AnnBindCompleted) {
		return c.syncUnboundClaim(ctx, pvc)
	}
	return c.syncBoundClaim(ctx, pvc)
}

// syncUnboundClaim finds, or provisions, a volume for a claim that is not
// bound yet.
func (c *Controller) syncUnboundClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.Spec.VolumeName != "" {
		return c.syncPreboundClaim(ctx, pvc)
	}
	class, delayed, err := c.claimClass(pvc)
	if err != nil {
		return err
	}
	pv, err := c.findVolume(pvc, delayed)
	if err != nil {
		return err
	}
	if pv != nil {
		return c.bind(ctx, pv, pvc)
	}
	if assigned, err := c.assignDefaultClass(ctx, pvc); err != nil || assigned {
		return err // an assigned claim is synced again on its update
	}
	switch {
	case delayed && !volume.IsDelayBindingProvisioning(pvc):
		c.events.Event(pvc, corev1.EventTypeNormal, reasonWaitForFirstConsumer, msgWaitForFirstConsumer)
	case volume.GetPersistentVolumeClaimClass(pvc) != "":
		if err := c.provision(ctx, pvc, class); err != nil {
			return err
		}
	default:
		c.events.Event(pvc, corev1.EventTypeNormal, reasonFailedBinding, "no persistent volumes available for this claim and no storage class is set")
	}
	return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil)
}

// claimClass returns the claim's StorageClass (nil when it names none or
// it does not exist) and whether it binds WaitForFirstConsumer with no
// node selected yet.
func (c *Controller) claimClass(pvc *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, bool, error) {
	name := volume.GetPersistentVolumeClaimClass(pvc)
	if name == "" {
		return nil, false, nil
	}
	class, err := c.classes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	delayed := class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
	return class, delayed, nil
}

// findVolume returns the best volume for an unbound claim, nil if none:
// one pre-bound to it, else the smallest fitting Available one, among the
// volumes with the fewest access modes that still cover the claim's (as
// upstream's index does). With delayed binding only a pre-bound volume is
// taken; the scheduler picks the others per node.
func (c *Controller) findVolume(pvc *corev1.PersistentVolumeClaim, delayed bool) (*corev1.PersistentVolume, error) {
	all, err := c.volumes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	byModes := map[int][]*corev1.PersistentVolume{}
	for _, pv := range all {
		if volume.CheckAccessModes(pvc, pv) {
			n := len(pv.Spec.AccessModes)
			byModes[n] = append(byModes[n], pv)
		}
	}
	counts := make([]int, 0, len(byModes))
	for n := range byModes {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	for _, n := range counts {
		pv, err := volume.FindMatchingVolume(pvc, byModes[n], nil, nil, delayed, true)
		if err != nil || pv != nil {
			return pv, err
		}
	}
	return nil, nil
}

// syncPreboundClaim binds a claim whose user named its volume, if that
// volume is free or pre-bound to it and fits.
func (c *Controller) syncPreboundClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	pv, err := c.volumes.Get(pvc.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil)
	}
	if err != nil {
		return err
	}
	switch {
	case pv.Spec.ClaimRef == nil:
		if msg := mismatch(pv, pvc); msg != "" {
			c.events.Event(pvc, corev1.EventTypeWarning, reasonVolumeMismatch, msg)
			return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil)
		}
		return c.bind(ctx, pv, pvc)
	case volume.IsVolumeBoundToClaim(pv, pvc):
		return c.bind(ctx, pv, pvc)
	case metav1.HasAnnotation(pvc.ObjectMeta, volume.AnnBoundByController):
		// We bound it to a volume that someone else took: the claim's
		// sync as a bound claim reports it lost.
		return fmt.Errorf("claim %s/%s was bound by the controller to volume %s, which is bound to another claim", pvc.Namespace, pvc.Name, pv.Name)
	default:
		c.events.Event(pvc, corev1.EventTypeWarning, reasonFailedBinding, "volume \""+pv.Name+"\" already bound to a different claim.")
		return c.setClaimPhase(ctx, pvc, corev1.ClaimPending, nil)
	}
}

// mismatch says why a volume cannot satisfy a claim the user pre-bound to
// it; "" when it can.
func mismatch(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) string {
	want := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	have := pv.Spec.Capacity[corev1.ResourceStorage]
	switch {
	case have.Cmp(want) < 0:
		return "requested PV is too small"
	case volume.GetPersistentVolumeClass(pv) != volume.GetPersistentVolumeClaimClass(pvc):
		return "storageClassName does not match"
	case volume.CheckVolumeModeMismatches(&pvc.Spec, &pv.Spec):
		return "incompatible volumeMode"
	case !volume.CheckAccessModes(pvc, pv):
		return "incompatible accessMode"
	}
	return ""
}

// syncBoundClaim keeps a bound claim's binding whole, or marks it Lost.
func (c *Controller) syncBoundClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.Spec.VolumeName == "" {
		return c.claimLost(ctx, pvc, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
	}
	pv, err := c.volumes.Get(pvc.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return c.claimLost(ctx, pvc, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
	}
	if err != nil {
		return err
	}
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID == pvc.UID {
		return c.bind(ctx, pv, pvc)
	}
	return c.claimLost(ctx, pvc, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")
}

func (c *Controller) claimLost(ctx context.Context, pvc *corev1.PersistentVolumeClaim, reason, msg string) error {
	if pvc.Status.Phase == corev1.ClaimLost {
		return nil
	}
	if err := c.setClaimPhase(ctx, pvc, corev1.ClaimLost, nil); err != nil {
		return err
	}
	c.events.Event(pvc, corev1.EventTypeWarning, reason, msg)
	return nil
}

// bind binds pv and pvc to each other in upstream's order (see the package
// doc), writing only what differs.
func (c *Controller) bind(ctx context.Context, pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) error {
	logger := klog.FromContext(ctx)
	bound, dirty, err := volume.GetBindVolumeToClaim(pv, pvc)
	if err != nil {
		return err
	}
	if dirty {
		if bound, err = c.client.CoreV1().PersistentVolumes().Update(ctx, bound, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("bind volume %s to claim %s/%s: %w", pv.Name, pvc.Namespace, pvc.Name, err)
		}
	}
	if bound, err = c.setVolumePhase(ctx, bound, corev1.VolumeBound, ""); err != nil {
		return err
	}
	claim := pvc.DeepCopy()
	if claim.Spec.VolumeName != bound.Name {
		claim.Spec.VolumeName = bound.Name
		metav1.SetMetaDataAnnotation(&claim.ObjectMeta, volume.AnnBoundByController, "yes")
	}
	metav1.SetMetaDataAnnotation(&claim.ObjectMeta, volume.AnnBindCompleted, "yes")
	if !apiequality.Semantic.DeepEqual(claim.ObjectMeta, pvc.ObjectMeta) || claim.Spec.VolumeName != pvc.Spec.VolumeName {
		if claim, err = c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("bind claim %s/%s to volume %s: %w", pvc.Namespace, pvc.Name, pv.Name, err)
		}
	}
	if err := c.setClaimPhase(ctx, claim, corev1.ClaimBound, bound); err != nil {
		return err
	}
	logger.V(4).Info("Claim bound", "pvc", klog.KObj(pvc), "pv", bound.Name)
	return nil
}

// setClaimPhase writes the claim's phase, and with a volume its capacity
// and access modes (without one they are cleared), if they differ.
func (c *Controller) setClaimPhase(ctx context.Context, pvc *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, pv *corev1.PersistentVolume) error {
	claim := pvc.DeepCopy()
	claim.Status.Phase = phase
	if pv != nil {
		claim.Status.AccessModes = pv.Spec.AccessModes
		if q, ok := pv.Spec.Capacity[corev1.ResourceStorage]; ok {
			claim.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: q}
		}
	} else {
		claim.Status.AccessModes, claim.Status.Capacity = nil, nil
	}
	if apiequality.Semantic.DeepEqual(claim.Status, pvc.Status) {
		return nil
	}
	_, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, claim, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// assignDefaultClass gives an unbound claim created without a class the
// default class, as upstream does retroactively (the admission plugin may
// have run before the default class existed or was in its cache).
func (c *Controller) assignDefaultClass(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	if volume.PersistentVolumeClaimHasClass(pvc) {
		return false, nil
	}
	def, err := storage.DefaultStorageClass(c.classes)
	if err != nil || def == nil {
		return false, err
	}
	claim := pvc.DeepCopy()
	claim.Spec.StorageClassName = &def.Name
	if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
		return false, fmt.Errorf("assign default class %s to claim %s/%s: %w", def.Name, pvc.Namespace, pvc.Name, err)
	}
	return true, nil
}
