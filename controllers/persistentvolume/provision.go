package persistentvolume

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/reference"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/klog/v2"
)

// isInTree reports whether a provisioner name is one of upstream's in-tree
// plugins (kubernetes.io/...), which only the controller itself serves.
func isInTree(name string) bool { return strings.HasPrefix(name, "kubernetes.io/") }

// provision makes a volume for an unbound claim of class: through a
// built-in provisioner, or by announcing the claim to an external one.
// The volume is named pvc-<claim uid>, so a retried sync finds it.
func (c *Controller) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	if class == nil {
		c.events.Event(pvc, corev1.EventTypeWarning, reasonProvisioningFailed,
			fmt.Sprintf("storageclass.storage.k8s.io %q not found", volume.GetPersistentVolumeClaimClass(pvc)))
		return nil
	}
	p, builtIn := c.provisioners[class.Provisioner]
	if !builtIn && isInTree(class.Provisioner) {
		c.events.Event(pvc, corev1.EventTypeWarning, reasonProvisioningFailed, "no volume plugin matched name: "+class.Provisioner)
		return nil
	}
	pvc, err := c.setClaimProvisioner(ctx, pvc, class.Provisioner)
	if err != nil {
		return err
	}
	if !builtIn {
		c.events.Event(pvc, corev1.EventTypeNormal, reasonExternalProvisioning, fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' "+
			"or manually by the system administrator. If volume creation is delayed, please verify that "+
			"the provisioner is running and correctly registered.", class.Provisioner))
		return nil
	}
	name := "pvc-" + string(pvc.UID)
	if _, err := c.volumes.Get(name); err == nil {
		return nil // made by an earlier sync; the volume's sync binds it
	}
	var node *corev1.Node
	if selected := pvc.Annotations[volume.AnnSelectedNode]; selected != "" {
		node = c.node(selected)
	}
	source, affinity, err := p.Provision(ctx, name, pvc, node)
	if err != nil {
		c.events.Event(pvc, corev1.EventTypeWarning, reasonProvisioningFailed, err.Error())
		return c.reschedule(ctx, pvc)
	}
	ref, err := reference.GetReference(scheme.Scheme, pvc)
	if err != nil {
		return err
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				volume.AnnBoundByController:      "yes",
				volume.AnnDynamicallyProvisioned: class.Provisioner,
			},
		},
		Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource:        source,
			NodeAffinity:                  affinity,
			ClaimRef:                      ref,
			AccessModes:                   pvc.Spec.AccessModes,
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]},
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
		},
	}
	if class.ReclaimPolicy != nil {
		pv.Spec.PersistentVolumeReclaimPolicy = *class.ReclaimPolicy
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
		// Holds the object until its storage is gone, also when a user
		// deletes the volume before its claim.
		pv.Finalizers = []string{volume.PVDeletionInTreeProtectionFinalizer}
	}
	_, err = c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		// The storage is there; the next sync creates the object again.
		c.events.Event(pvc, corev1.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf("Failed to create PersistentVolume %s: %v", name, err))
		return err
	}
	klog.FromContext(ctx).V(2).Info("Volume provisioned for claim", "pvc", klog.KObj(pvc), "pv", name)
	c.events.Event(pvc, corev1.EventTypeNormal, reasonProvisioningSucceeded, fmt.Sprintf("Successfully provisioned volume %s using %s", name, class.Provisioner))
	return nil
}

// node returns the named node, or a node with only that name.
func (c *Controller) node(name string) *corev1.Node {
	if c.nodes != nil {
		if n, err := c.nodes.Get(name); err == nil {
			return n
		}
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// setClaimProvisioner annotates the claim with the provisioner that is to
// make its volume (both the GA and the beta annotation, as upstream).
func (c *Controller) setClaimProvisioner(ctx context.Context, pvc *corev1.PersistentVolumeClaim, provisioner string) (*corev1.PersistentVolumeClaim, error) {
	if pvc.Annotations[volume.AnnStorageProvisioner] == provisioner && pvc.Annotations[volume.AnnBetaStorageProvisioner] == provisioner {
		return pvc, nil
	}
	claim := pvc.DeepCopy()
	metav1.SetMetaDataAnnotation(&claim.ObjectMeta, volume.AnnStorageProvisioner, provisioner)
	metav1.SetMetaDataAnnotation(&claim.ObjectMeta, volume.AnnBetaStorageProvisioner, provisioner)
	return c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{})
}

// reschedule drops the selected-node annotation after a failed
// provisioning, so that the scheduler places the pod again.
func (c *Controller) reschedule(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if _, ok := pvc.Annotations[volume.AnnSelectedNode]; !ok {
		return nil
	}
	claim := pvc.DeepCopy()
	delete(claim.Annotations, volume.AnnSelectedNode)
	_, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{})
	return err
}
