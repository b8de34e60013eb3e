package statefulset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
)

// createClaims creates the claims of the pod of ordinal n that do not exist
// yet. A claim being deleted is an error: the pod must wait for a new one.
func (c *Controller) createClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod, n int) error {
	var errs []error
	for _, claim := range newClaims(set, n) {
		existing, err := c.claims.PersistentVolumeClaims(claim.Namespace).Get(claim.Name)
		switch {
		case apierrors.IsNotFound(err):
			_, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Create(ctx, claim, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue // the cache is behind
			}
			c.claimEvent("create", set, pod, claim.Name, err)
			if err != nil {
				errs = append(errs, fmt.Errorf("create claim %s: %w", klog.KObj(claim), err))
			}
		case err != nil:
			errs = append(errs, err)
		case existing.DeletionTimestamp != nil:
			errs = append(errs, fmt.Errorf("claim %s is being deleted", klog.KObj(claim)))
		}
	}
	return errors.Join(errs...)
}

// retention is a set's persistentVolumeClaimRetentionPolicy: whether a
// claim is deleted with the set, and with its pod when scaled away.
type retention struct{ whenDeleted, whenScaled bool }

func retentionOf(set *appsv1.StatefulSet) retention {
	p := set.Spec.PersistentVolumeClaimRetentionPolicy
	if p == nil {
		return retention{}
	}
	return retention{
		whenDeleted: p.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		whenScaled:  p.WhenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
	}
}

// wantOwners says which of the set and the pod should own a pod's claim,
// so that the garbage collector deletes it when they go: the set, if claims
// go with the set and the pod is in range; the pod, if claims go on scale
// down and the pod is out of range (condemned).
func (r retention) wantOwners(set *appsv1.StatefulSet, pod *corev1.Pod) (bySet, byPod bool) {
	scaledDown := !inRange(set, ordinalOf(pod))
	return r.whenDeleted && (!scaledDown || !r.whenScaled), r.whenScaled && scaledDown
}

// refersTo reports whether ref names obj of kind k, whatever its uid.
func refersTo(ref *metav1.OwnerReference, obj metav1.Object, k schema.GroupVersionKind) bool {
	return ref.APIVersion == k.GroupVersion().String() && ref.Kind == k.Kind && ref.Name == obj.GetName()
}

// claimOwners returns the owner references a claim should have under the
// set's retention policy, and whether that differs from what it has. A
// claim that names an earlier set or pod of the same name is left alone
// (it is stale: its owner is gone); a claim another controller owns loses
// only the set's and pod's references.
func claimOwners(set *appsv1.StatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim) ([]metav1.OwnerReference, bool) {
	policy := retentionOf(set)
	var others []metav1.OwnerReference
	var hasSet, hasPod, plainRef, otherController bool
	for _, ref := range claim.OwnerReferences {
		controller := ref.Controller != nil && *ref.Controller
		switch {
		case refersTo(&ref, set, kind):
			if ref.UID != set.UID {
				return nil, false
			}
			hasSet, plainRef = true, plainRef || !controller
		case refersTo(&ref, pod, podKind):
			if ref.UID != pod.UID {
				return nil, false
			}
			hasPod, plainRef = true, plainRef || !controller
		default:
			others = append(others, ref)
			otherController = otherController || controller
		}
	}
	if otherController && (policy.whenDeleted || policy.whenScaled) {
		return others, hasSet || hasPod
	}
	bySet, byPod := policy.wantOwners(set, pod)
	refs := others
	if bySet {
		refs = append(refs, *metav1.NewControllerRef(set, kind))
	}
	if byPod && pod.UID != "" {
		refs = append(refs, *metav1.NewControllerRef(pod, podKind))
	}
	return refs, plainRef || hasSet != bySet || hasPod != (byPod && pod.UID != "")
}

// claimsMatch reports whether the pod's existing claims have the owners
// the retention policy asks for.
func (c *Controller) claimsMatch(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	for _, t := range set.Spec.VolumeClaimTemplates {
		claim, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(claimName(set, t.Name, ordinalOf(pod)))
		if err != nil {
			continue // missing claims are created elsewhere
		}
		if _, change := claimOwners(set, pod, claim); change {
			return false
		}
	}
	return true
}

// updateClaimOwners gives each of the pod's claims the owners the
// retention policy asks for.
func (c *Controller) updateClaimOwners(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	var errs []error
	for _, t := range set.Spec.VolumeClaimTemplates {
		claim, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(claimName(set, t.Name, ordinalOf(pod)))
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		refs, change := claimOwners(set, pod, claim)
		if !change {
			continue
		}
		if slices.ContainsFunc(claim.OwnerReferences, func(r metav1.OwnerReference) bool {
			return r.Controller != nil && *r.Controller && !refersTo(&r, set, kind) && !refersTo(&r, pod, podKind)
		}) {
			c.events.Eventf(set, corev1.EventTypeWarning, "ConflictingController",
				"PersistentVolumeClaim %s has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim", claim.Name)
		}
		claim = claim.DeepCopy()
		claim.OwnerReferences = refs
		if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("update owners of claim %s: %w", klog.KObj(claim), err))
		}
	}
	return errors.Join(errs...)
}

// claimIsStale reports whether a claim of the pod about to be created
// still names an earlier pod of its name as owner: with claims deleted on
// scale down, the garbage collector is about to delete it, so the new pod
// waits.
func (c *Controller) claimIsStale(set *appsv1.StatefulSet, n int) bool {
	if !retentionOf(set).whenScaled {
		return false
	}
	name := podName(set, n)
	for _, claim := range newClaims(set, n) {
		existing, err := c.claims.PersistentVolumeClaims(claim.Namespace).Get(claim.Name)
		if err != nil {
			continue
		}
		for _, ref := range existing.OwnerReferences {
			if ref.Kind == podKind.Kind && ref.APIVersion == "v1" && ref.Name == name {
				return true // no pod of that name exists now: it is stale
			}
		}
	}
	return false
}

// podEvent records verb ("create", "update", "delete") done to a pod of
// the set, as upstream words it.
func (c *Controller) podEvent(verb string, set *appsv1.StatefulSet, pod *corev1.Pod, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		c.events.Eventf(set, corev1.EventTypeNormal, "Successful"+title, "%s Pod %s in StatefulSet %s successful", title, pod.Name, set.Name)
		return
	}
	c.events.Eventf(set, corev1.EventTypeWarning, "Failed"+title, "%s Pod %s in StatefulSet %s failed error: %v", title, pod.Name, set.Name, err)
}

func (c *Controller) claimEvent(verb string, set *appsv1.StatefulSet, pod *corev1.Pod, claim string, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		c.events.Eventf(set, corev1.EventTypeNormal, "Successful"+title, "%s Claim %s Pod %s in StatefulSet %s success", title, claim, pod.Name, set.Name)
		return
	}
	c.events.Eventf(set, corev1.EventTypeWarning, "Failed"+title, "%s Claim %s for Pod %s in StatefulSet %s failed error: %v", title, claim, pod.Name, set.Name, err)
}
