// Package volumeprotection keeps PersistentVolumeClaims and
// PersistentVolumes from going away while they are in use, as upstream's
// pvc-protection and pv-protection controllers do, with one queue for both.
//
// The StorageObjectInUseProtection admission plugin gives every new claim
// the kubernetes.io/pvc-protection finalizer and every new volume the
// kubernetes.io/pv-protection finalizer; this controller adds them to
// objects that lack them (created before the plugin, or by a client that
// removed them) and removes them from a deleted object once nothing uses
// it:
//
//   - a claim is in use while a pod scheduled to a node names it in a
//     persistentVolumeClaim volume, or names it through a generic
//     ephemeral volume and has not been shut down (deleted with grace 0).
//     The informer's pods are checked first; before the finalizer goes,
//     the pods of the namespace are listed live, so a pod the cache has not
//     seen yet still counts;
//   - a volume is in use while its phase is Bound.
package volumeprotection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/auth/admission/storage"
	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// Config holds what the controller needs; every field but VolumeClient is
// required.
type Config struct {
	Client kubernetes.Interface
	// VolumeClient writes PersistentVolumes; nil: Client. Upstream runs the
	// two halves as controllers of their own, with the credentials of the
	// pvc-protection-controller and pv-protection-controller service
	// accounts, each allowed to write only its kind.
	VolumeClient kubernetes.Interface
	Claims       coreinformers.PersistentVolumeClaimInformer
	Volumes      coreinformers.PersistentVolumeInformer
	Pods         coreinformers.PodInformer
}

// Validate reports missing fields.
func (c Config) Validate() error {
	if c.Client == nil || c.Claims == nil || c.Volumes == nil || c.Pods == nil {
		return errors.New("volume protection controller: Client, Claims, Volumes and Pods are required")
	}
	return nil
}

// Queue keys: the kind prefix, then the object's key.
const (
	claimPrefix  = "pvc:"
	volumePrefix = "pv:"
)

// Controller is the volume protection controller. Build it with New.
type Controller struct {
	client        kubernetes.Interface
	volumesClient kubernetes.Interface
	claims        corelisters.PersistentVolumeClaimLister
	volumes       corelisters.PersistentVolumeLister
	pods          corelisters.PodLister
	loop          *loop.Loop
}

// New registers the controller's handlers; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client:        cfg.Client,
		volumesClient: cmp.Or(cfg.VolumeClient, cfg.Client),
		claims:        cfg.Claims.Lister(),
		volumes:       cfg.Volumes.Lister(),
		pods:          cfg.Pods.Lister(),
	}
	c.loop = loop.New("volume-protection-controller", c.sync)
	prefixed := func(prefix string) func(any) []string {
		return func(obj any) []string {
			keys := loop.OwnKey(obj)
			for i := range keys {
				keys[i] = prefix + keys[i]
			}
			return keys
		}
	}
	if err := loop.Watch(c.loop, cfg.Claims.Informer(), prefixed(claimPrefix), false); err != nil {
		return nil, err
	}
	if err := loop.Watch(c.loop, cfg.Volumes.Informer(), prefixed(volumePrefix), false); err != nil {
		return nil, err
	}
	// A pod that changes or goes may free the claims it names.
	if err := loop.Watch(c.loop, cfg.Pods.Informer(), podClaimKeys, true); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// podClaimKeys queues the claims a pod names.
func podClaimKeys(obj any) []string {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	var keys []string
	for _, v := range pod.Spec.Volumes {
		if name := claimName(pod, &v); name != "" {
			keys = append(keys, claimPrefix+pod.Namespace+"/"+name)
		}
	}
	return keys
}

// claimName is the claim a pod volume names: its persistentVolumeClaim, or
// the claim of a generic ephemeral volume, "<pod>-<volume>".
func claimName(pod *corev1.Pod, v *corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return pod.Name + "-" + v.Name
	}
	return ""
}

func (c *Controller) sync(ctx context.Context, key string) error {
	if k, ok := strings.CutPrefix(key, claimPrefix); ok {
		ns, name, err := cache.SplitMetaNamespaceKey(k)
		if err != nil {
			return loop.Terminal(err)
		}
		return c.syncClaim(ctx, ns, name)
	}
	if name, ok := strings.CutPrefix(key, volumePrefix); ok {
		return c.syncVolume(ctx, name)
	}
	return loop.Terminal(fmt.Errorf("unknown key %q", key))
}

func (c *Controller) syncClaim(ctx context.Context, ns, name string) error {
	pvc, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	has := slices.Contains(pvc.Finalizers, storage.PVCProtectionFinalizer)
	switch {
	case pvc.DeletionTimestamp == nil && !has:
		return c.setClaimFinalizer(ctx, pvc, true)
	case pvc.DeletionTimestamp == nil || !has:
		return nil
	}
	pods, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	if usedBy(pods, pvc) {
		return nil
	}
	live, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	livePods := make([]*corev1.Pod, len(live.Items))
	for i := range live.Items {
		livePods[i] = &live.Items[i]
	}
	if usedBy(livePods, pvc) {
		return nil
	}
	klog.FromContext(ctx).V(2).Info("Removing PVC protection finalizer, no pod uses the claim", "pvc", klog.KObj(pvc))
	return c.setClaimFinalizer(ctx, pvc, false)
}

// usedBy reports whether a pod scheduled to a node uses pvc (see the
// package doc).
func usedBy(pods []*corev1.Pod, pvc *corev1.PersistentVolumeClaim) bool {
	for _, pod := range pods {
		if pod.Spec.NodeName == "" {
			continue
		}
		shutDown := pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds == 0
		for _, v := range pod.Spec.Volumes {
			switch {
			case v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name:
				return true
			case v.Ephemeral != nil && !shutDown && claimName(pod, &v) == pvc.Name && metav1.IsControlledBy(pvc, pod):
				return true
			}
		}
	}
	return false
}

func (c *Controller) syncVolume(ctx context.Context, name string) error {
	pv, err := c.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	has := slices.Contains(pv.Finalizers, storage.PVProtectionFinalizer)
	switch {
	case pv.DeletionTimestamp == nil && !has:
		return c.setVolumeFinalizer(ctx, pv, true)
	case pv.DeletionTimestamp == nil || !has || pv.Status.Phase == corev1.VolumeBound:
		return nil
	}
	klog.FromContext(ctx).V(2).Info("Removing PV protection finalizer, the volume is not bound", "pv", klog.KObj(pv))
	return c.setVolumeFinalizer(ctx, pv, false)
}

// withFinalizer returns finalizers with f added or removed.
func withFinalizer(finalizers []string, f string, add bool) []string {
	out := slices.DeleteFunc(slices.Clone(finalizers), func(s string) bool { return s == f })
	if add {
		out = append(out, f)
	}
	return out
}

func (c *Controller) setClaimFinalizer(ctx context.Context, pvc *corev1.PersistentVolumeClaim, add bool) error {
	pvc = pvc.DeepCopy()
	pvc.Finalizers = withFinalizer(pvc.Finalizers, storage.PVCProtectionFinalizer, add)
	_, err := c.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (c *Controller) setVolumeFinalizer(ctx context.Context, pv *corev1.PersistentVolume, add bool) error {
	pv = pv.DeepCopy()
	pv.Finalizers = withFinalizer(pv.Finalizers, storage.PVProtectionFinalizer, add)
	_, err := c.volumesClient.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
