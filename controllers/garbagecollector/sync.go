package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// unknownKindRediscover is how often one unknown owner kind may ask for an
// early discovery.
const unknownKindRediscover = time.Minute

// notSyncedRecheck is how soon an owner waiting on its dependents is looked
// at again while the informers are still listing.
const notSyncedRecheck = time.Second

// errInvalidOwnerNamespace marks a cluster-scoped object that names a
// namespaced owner: no namespace can hold that owner, so the reference is
// left alone rather than treated as dangling.
var errInvalidOwnerNamespace = errors.New("cluster-scoped objects cannot refer to namespaced owners")

// ownerState is what an owner reference's lookup found.
type ownerState int

const (
	// solid: the owner exists and is not waiting for its dependents.
	solid ownerState = iota
	// solidUnseen: as solid, but no informer has shown the owner, so its
	// deletion would go unnoticed.
	solidUnseen
	// dangling: no object with the reference's coordinates and uid exists.
	dangling
	// waiting: the owner is being deleted in the foreground.
	waiting
)

// sync handles one object, named by uid: an owner being deleted in the
// foreground deletes its dependents, then loses its finalizer; an owner
// being deleted with orphaning releases its dependents, then loses its
// finalizer; an object whose owners are all gone is deleted.
func (c *Controller) sync(ctx context.Context, key string) error {
	n, ok := c.graph.get(types.UID(key))
	switch {
	case !ok:
		return nil
	case n.deletingDependents():
		return c.deleteDependents(ctx, n)
	case n.orphaning():
		return c.orphanDependents(ctx, n)
	case n.deleting || len(n.owners) == 0:
		return nil
	}
	return c.collect(ctx, n)
}

// deleteDependents queues the dependents of an owner in foreground deletion
// for deletion and, once none that blocks it is left, removes its
// foregroundDeletion finalizer.
func (c *Controller) deleteDependents(ctx context.Context, owner node) error {
	if !c.monitors.synced() {
		c.loop.AddAfter(string(owner.uid), notSyncedRecheck)
		return nil
	}
	blocking := 0
	for _, dep := range c.graph.dependentsOf(owner.uid) {
		if ref := dep.ownerRef(owner.uid); ref != nil && blocks(ref) {
			blocking++
		}
		if !dep.deleting {
			c.loop.Add(string(dep.uid))
		}
	}
	if blocking > 0 {
		klog.FromContext(ctx).V(4).Info("Waiting for dependents", "owner", refOf(owner), "blocking", blocking)
		return nil
	}
	return c.removeFinalizer(ctx, owner, metav1.FinalizerDeleteDependents)
}

// orphanDependents removes the references to an owner being deleted with
// the orphan finalizer from its dependents, then removes the finalizer.
func (c *Controller) orphanDependents(ctx context.Context, owner node) error {
	if !c.monitors.synced() {
		c.loop.AddAfter(string(owner.uid), notSyncedRecheck)
		return nil
	}
	var errs []error
	for _, dep := range c.graph.dependentsOf(owner.uid) {
		latest, err := c.get(ctx, dep)
		if err != nil || latest == nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, c.removeOwnerRefs(ctx, dep, latest, owner.uid))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("orphan dependents of %s: %w", refOf(owner), err)
	}
	return c.removeFinalizer(ctx, owner, metav1.FinalizerOrphanDependents)
}

// collect looks up the owners of an object that is not being deleted and
// deletes it when none of them remains, or drops the references to missing
// owners when some do.
func (c *Controller) collect(ctx context.Context, n node) error {
	if c.ownersSeenAlive(n) {
		return nil // the common case, decided without asking the server
	}
	latest, err := c.get(ctx, n)
	if err != nil || latest == nil || latest.DeletionTimestamp != nil || len(latest.OwnerReferences) == 0 {
		return err
	}
	var live, gone []types.UID
	unseen := false
	waitingOwner := false
	for _, ref := range latest.OwnerReferences {
		state, err := c.classify(ctx, n, ref)
		if errors.Is(err, errInvalidOwnerNamespace) {
			return loop.Terminal(fmt.Errorf("%s: %w", ref.Name, err))
		}
		if err != nil {
			return fmt.Errorf("look up owner %s %s of %s: %w", ref.Kind, ref.Name, refOf(n), err)
		}
		switch state {
		case solid, solidUnseen:
			live = append(live, ref.UID)
			unseen = unseen || state == solidUnseen
		case waiting:
			waitingOwner = true
			gone = append(gone, ref.UID)
		case dangling:
			gone = append(gone, ref.UID)
		}
	}
	if len(live) > 0 {
		if unseen {
			// Nothing will tell the graph when that owner goes: look again later.
			c.loop.AddAfter(string(n.uid), unobservedRecheck)
		}
		if len(gone) == 0 {
			return nil
		}
		// References to owners waiting for their dependents must go, or those
		// owners would wait forever.
		return c.removeOwnerRefs(ctx, n, latest, gone...)
	}
	policy := metav1.DeletePropagationBackground
	switch {
	case waitingOwner && c.graph.hasDependents(n.uid):
		policy = metav1.DeletePropagationForeground
		if latest, err = c.breakCycle(ctx, n, latest); err != nil || latest == nil {
			return err
		}
	case slices.Contains(latest.Finalizers, metav1.FinalizerOrphanDependents):
		policy = metav1.DeletePropagationOrphan
	case slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents):
		policy = metav1.DeletePropagationForeground
	}
	return c.delete(ctx, n, latest, policy)
}

// ownersSeenAlive reports whether the graph has seen every owner n names,
// with the reference's kind, name and namespace, and none of them is
// waiting for its dependents. Then there is nothing to collect. It only
// ever answers "leave it", so a stale graph cannot make it delete.
func (c *Controller) ownersSeenAlive(n node) bool {
	for _, ref := range n.owners {
		res, err := c.kinds.resolve(ref.APIVersion, ref.Kind)
		if err != nil || (n.namespace == "" && res.namespaced) {
			return false
		}
		owner, seen := c.graph.get(ref.UID)
		if !seen || !sameObject(owner, res, ref, n.namespace) || owner.deletingDependents() {
			return false
		}
	}
	return true
}

// sameObject reports whether the observed owner is the object ref names
// from a dependent in namespace ns.
func sameObject(owner node, res apiResource, ref metav1.OwnerReference, ns string) bool {
	if !res.namespaced {
		ns = ""
	}
	return owner.kind == res.kind && owner.name == ref.Name && owner.namespace == ns
}

// breakCycle handles an object about to be deleted in the foreground
// because an owner waits for it, when one of its own dependents waits for
// its dependents too: that may be a cycle of owners each waiting for the
// next. Its references stop blocking their owners, so the owner it blocks
// can go and the cycle unwinds. It returns the object as it is now (nil if
// it is gone).
func (c *Controller) breakCycle(ctx context.Context, n node, latest *metav1.PartialObjectMetadata) (*metav1.PartialObjectMetadata, error) {
	waiting := slices.ContainsFunc(c.graph.dependentsOf(n.uid), func(d node) bool { return d.deletingDependents() })
	blocking := slices.ContainsFunc(latest.OwnerReferences, func(r metav1.OwnerReference) bool { return blocks(&r) })
	if !waiting || !blocking {
		return latest, nil
	}
	refs := slices.Clone(latest.OwnerReferences)
	for i := range refs {
		refs[i].BlockOwnerDeletion = nil
	}
	klog.FromContext(ctx).V(2).Info("Unblocking owners to break a possible cycle", "object", refOf(n))
	return c.patchMeta(ctx, n, latest, "ownerReferences", refs)
}

// classify looks up the owner a reference names. The graph answers when it
// has seen that very owner alive; otherwise the server is asked. Only a
// NotFound, or an object with another uid, makes the reference dangling.
func (c *Controller) classify(ctx context.Context, n node, ref metav1.OwnerReference) (ownerState, error) {
	res, err := c.kinds.resolve(ref.APIVersion, ref.Kind)
	if errors.Is(err, errUnknownKind) && c.kinds.firstMiss(ref.APIVersion, ref.Kind, c.clock.Now(), unknownKindRediscover) {
		c.askRediscover()
	}
	if err != nil {
		return 0, err
	}
	if n.namespace == "" && res.namespaced {
		c.events.Eventf(objectReference(n), corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
			"ownerRef [%s, kind=%s, name=%s, uid=%s] is namespaced and cannot own the cluster-scoped object",
			ref.APIVersion, ref.Kind, ref.Name, ref.UID)
		return 0, errInvalidOwnerNamespace
	}
	ns := ""
	if res.namespaced {
		ns = n.namespace
	}
	owner, seen := c.graph.get(ref.UID)
	if seen {
		if sameObject(owner, res, ref, n.namespace) && !owner.deletingDependents() {
			return solid, nil
		}
		if owner.namespace != "" && owner.namespace != n.namespace {
			c.events.Eventf(objectReference(n), corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
				"ownerRef [%s, kind=%s, name=%s, uid=%s] does not exist in namespace %q",
				ref.APIVersion, ref.Kind, ref.Name, ref.UID, n.namespace)
		}
	}
	live, err := c.metadata.Resource(res.gvr).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return dangling, nil
	case err != nil:
		return 0, err
	case live.UID != ref.UID:
		return dangling, nil
	case live.DeletionTimestamp != nil && slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents):
		return waiting, nil
	case !seen:
		return solidUnseen, nil
	}
	return solid, nil
}

// get returns the object n names as the server has it now, or nil if it is
// gone or was replaced by another with the same name.
func (c *Controller) get(ctx context.Context, n node) (*metav1.PartialObjectMetadata, error) {
	latest, err := c.metadata.Resource(n.resource).Namespace(n.namespace).Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", refOf(n), err)
	}
	if latest.UID != n.uid {
		return nil, nil
	}
	return latest, nil
}

// delete deletes the object, preconditioned on the uid and resource version
// its owners were judged at. If only other fields changed since, it tries
// again on the uid alone, so busy objects are not starved.
func (c *Controller) delete(ctx context.Context, n node, latest *metav1.PartialObjectMetadata, policy metav1.DeletionPropagation) error {
	client := c.metadata.Resource(n.resource).Namespace(n.namespace)
	uid, rv := latest.UID, latest.ResourceVersion
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}, PropagationPolicy: &policy}
	err := client.Delete(ctx, n.name, opts)
	if apierrors.IsConflict(err) {
		now, gerr := c.get(ctx, n)
		if gerr != nil || now == nil {
			return gerr
		}
		if !equality.Semantic.DeepEqual(now.OwnerReferences, latest.OwnerReferences) {
			return fmt.Errorf("delete %s: owner references changed", refOf(n))
		}
		opts.Preconditions.ResourceVersion = nil
		err = client.Delete(ctx, n.name, opts)
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", refOf(n), err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted object whose owners are gone", "object", refOf(n), "propagationPolicy", policy)
	return nil
}

// removeOwnerRefs drops the references to owners from the object latest.
func (c *Controller) removeOwnerRefs(ctx context.Context, n node, latest *metav1.PartialObjectMetadata, owners ...types.UID) error {
	kept := slices.DeleteFunc(slices.Clone(latest.OwnerReferences), func(r metav1.OwnerReference) bool {
		return slices.Contains(owners, r.UID)
	})
	if len(kept) == len(latest.OwnerReferences) {
		return nil
	}
	if _, err := c.patchMeta(ctx, n, latest, "ownerReferences", kept); err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Removed owner references", "object", refOf(n), "owners", owners)
	return nil
}

// removeFinalizer removes finalizer from the object n names.
func (c *Controller) removeFinalizer(ctx context.Context, n node, finalizer string) error {
	latest, err := c.get(ctx, n)
	if err != nil || latest == nil || !slices.Contains(latest.Finalizers, finalizer) {
		return err
	}
	kept := slices.DeleteFunc(slices.Clone(latest.Finalizers), func(f string) bool { return f == finalizer })
	if _, err := c.patchMeta(ctx, n, latest, "finalizers", kept); err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Removed finalizer", "object", refOf(n), "finalizer", finalizer)
	return nil
}

// patchMeta sets one metadata field of the object with a JSON merge patch
// that carries latest's uid and resource version, so that it applies only
// to the state it was computed from. It works for every resource, custom
// ones included. It returns the patched object, or nil if it is gone.
func (c *Controller) patchMeta(ctx context.Context, n node, latest *metav1.PartialObjectMetadata, field string, value any) (*metav1.PartialObjectMetadata, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		field:             value,
		"uid":             latest.UID,
		"resourceVersion": latest.ResourceVersion,
	}})
	if err != nil {
		return nil, err
	}
	saved, err := c.metadata.Resource(n.resource).Namespace(n.namespace).Patch(ctx, n.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("patch %s of %s: %w", field, refOf(n), err)
	}
	return saved, nil
}

// objectReference names n in events.
func objectReference(n node) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		Kind:       n.kind.Kind,
		APIVersion: schema.GroupVersion{Group: n.kind.Group, Version: n.resource.Version}.String(),
		Namespace:  n.namespace,
		Name:       n.name,
		UID:        n.uid,
	}
}

// refOf names n in logs and errors.
func refOf(n node) klog.ObjectRef { return klog.KRef(n.namespace, n.name) }
