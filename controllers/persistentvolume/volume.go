package persistentvolume

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/klog/v2"
)

func (c *Controller) syncVolumeKey(ctx context.Context, name string) error {
	pv, err := c.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.DeletionTimestamp != nil && pv.Status.Phase != corev1.VolumeBound {
		return c.finishDeletion(ctx, pv)
	}
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		// Free, or pre-bound by the user to a claim that will come.
		_, err := c.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "")
		return err
	}
	pvc, err := c.claims.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if apierrors.IsNotFound(err) {
		// The cache may lag behind a claim just created: ask the server
		// before releasing the volume.
		pvc, err = c.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		pvc = nil
	case err != nil:
		return err
	case pvc.UID != ref.UID:
		pvc = nil
	}
	switch {
	case pvc == nil:
		if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
			if pv, err = c.setVolumePhase(ctx, pv, corev1.VolumeReleased, ""); err != nil {
				return err
			}
		}
		return c.reclaim(ctx, pv)
	case pvc.Spec.VolumeName == "":
		// The claim's sync finishes (or re-does) the binding.
		c.loop.Add(claimPrefix + pvc.Namespace + "/" + pvc.Name)
		return nil
	case pvc.Spec.VolumeName == pv.Name:
		_, err := c.setVolumePhase(ctx, pv, corev1.VolumeBound, "")
		return err
	case metav1.HasAnnotation(pv.ObjectMeta, volume.AnnDynamicallyProvisioned) && pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete:
		// Provisioned for a claim that bound another volume meanwhile.
		if pv.Status.Phase != corev1.VolumeReleased {
			if pv, err = c.setVolumePhase(ctx, pv, corev1.VolumeReleased, ""); err != nil {
				return err
			}
		}
		return c.reclaim(ctx, pv)
	default:
		return c.unbind(ctx, pv)
	}
}

// unbind frees a volume whose claim is bound elsewhere: a binding the
// controller made is dropped, a user's pre-binding goes back to naming the
// claim without its uid.
func (c *Controller) unbind(ctx context.Context, pv *corev1.PersistentVolume) error {
	v := pv.DeepCopy()
	if metav1.HasAnnotation(v.ObjectMeta, volume.AnnBoundByController) {
		v.Spec.ClaimRef = nil
		delete(v.Annotations, volume.AnnBoundByController)
	} else {
		v.Spec.ClaimRef.UID = ""
		v.Spec.ClaimRef.ResourceVersion = ""
	}
	v, err := c.client.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("unbind volume %s: %w", pv.Name, err)
	}
	_, err = c.setVolumePhase(ctx, v, corev1.VolumeAvailable, "")
	return err
}

// reclaim applies a Released volume's reclaim policy.
func (c *Controller) reclaim(ctx context.Context, pv *corev1.PersistentVolume) error {
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain:
		return nil
	case corev1.PersistentVolumeReclaimRecycle:
		return c.failVolume(ctx, pv, reasonVolumeFailedRecycle, "No recycler plugin found for the volume!")
	case corev1.PersistentVolumeReclaimDelete:
		if pv.Status.Phase == corev1.VolumeFailed {
			return nil
		}
		p, err := c.deleter(pv)
		if err != nil {
			return c.failVolume(ctx, pv, reasonVolumeFailedDelete, err.Error())
		}
		if p == nil {
			return nil // an external provisioner deletes it
		}
		if err := p.Delete(ctx, pv); err != nil {
			c.events.Event(pv, corev1.EventTypeWarning, reasonVolumeFailedDelete, err.Error())
			return err
		}
		klog.FromContext(ctx).V(2).Info("Volume deleted, deleting its PersistentVolume", "pv", pv.Name)
		err = c.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pv.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
		return nil
	default:
		return c.failVolume(ctx, pv, reasonVolumeUnknownPolicy, "Volume has unrecognized PersistentVolumeReclaimPolicy")
	}
}

// deleter returns the built-in provisioner that deletes pv, nil when an
// external one does, or upstream's error when none can.
func (c *Controller) deleter(pv *corev1.PersistentVolume) (Provisioner, error) {
	name := pv.Annotations[volume.AnnDynamicallyProvisioned]
	if p, ok := c.provisioners[name]; ok && name != "" {
		return p, nil
	}
	if name != "" && !isInTree(name) {
		return nil, nil
	}
	return nil, fmt.Errorf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", pv.Name)
}

// finishDeletion removes the storage of a deleted, unbound volume that a
// built-in provisioner made, then the kubernetes.io/pv-controller
// finalizer that held the object for it.
func (c *Controller) finishDeletion(ctx context.Context, pv *corev1.PersistentVolume) error {
	if !slices.Contains(pv.Finalizers, volume.PVDeletionInTreeProtectionFinalizer) {
		return nil
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
		if p, err := c.deleter(pv); err == nil && p != nil {
			if err := p.Delete(ctx, pv); err != nil {
				c.events.Event(pv, corev1.EventTypeWarning, reasonVolumeFailedDelete, err.Error())
				return err
			}
		}
	}
	v := pv.DeepCopy()
	v.Finalizers = slices.DeleteFunc(v.Finalizers, func(f string) bool { return f == volume.PVDeletionInTreeProtectionFinalizer })
	_, err := c.client.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (c *Controller) failVolume(ctx context.Context, pv *corev1.PersistentVolume, reason, msg string) error {
	if pv.Status.Phase == corev1.VolumeFailed {
		return nil
	}
	if _, err := c.setVolumePhase(ctx, pv, corev1.VolumeFailed, msg); err != nil {
		return err
	}
	c.events.Event(pv, corev1.EventTypeWarning, reason, msg)
	return nil
}

// setVolumePhase writes the volume's phase and message, stamping the
// transition time, if they differ; it returns the volume as written.
func (c *Controller) setVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, msg string) (*corev1.PersistentVolume, error) {
	if pv.Status.Phase == phase && pv.Status.Message == msg {
		return pv, nil
	}
	v := pv.DeepCopy()
	if v.Status.Phase != phase {
		now := metav1.NewTime(c.clock.Now())
		v.Status.LastPhaseTransitionTime = &now
	}
	v.Status.Phase, v.Status.Message = phase, msg
	v, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, v, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("set volume %s phase %s: %w", pv.Name, phase, err)
	}
	return v, nil
}
