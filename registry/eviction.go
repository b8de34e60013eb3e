package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/util/dryrun"
)

// maxDisruptedPods caps a budget's status.disruptedPods: evictions the
// disruption controller has not confirmed yet. Past it, evictions are
// refused, as upstream.
const maxDisruptedPods = 2000

var pdbResource = schema.GroupResource{Group: policyv1.GroupName, Resource: "poddisruptionbudgets"}

// EvictionREST serves pods/eviction: a delete that honours the
// PodDisruptionBudget covering the pod, as `kubectl drain` uses it. A pod
// that a budget covers is deleted only if the budget allows a disruption;
// the budget's status then counts one disruption fewer and names the pod
// in disruptedPods until the disruption controller sees it gone. A refused
// eviction is a 429 whose cause names the budget.
type EvictionREST struct {
	pods *genericregistry.Store
	env  *Env
}

var (
	_ rest.NamedCreater             = &EvictionREST{}
	_ rest.GroupVersionKindProvider = &EvictionREST{}
)

// New returns an empty Eviction.
func (r *EvictionREST) New() runtime.Object { return &policyv1.Eviction{} }

// Destroy does nothing: the pod store owns the storage.
func (r *EvictionREST) Destroy() {}

// GroupVersionKind is policy/v1 Eviction, whatever the pod's version.
func (r *EvictionREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return policyv1.SchemeGroupVersion.WithKind("Eviction")
}

// Create evicts the named pod.
func (r *EvictionREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	eviction, ok := obj.(*policyv1.Eviction)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not an Eviction object: %T", obj))
	}
	if name != eviction.Name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	if createValidation != nil {
		if err := createValidation(ctx, eviction.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	deleteOptions := &metav1.DeleteOptions{}
	if eviction.DeleteOptions != nil {
		deleteOptions = eviction.DeleteOptions.DeepCopy()
	}
	// A dry-run eviction is a dry-run delete.
	if len(options.DryRun) > 0 {
		deleteOptions.DryRun = options.DryRun
	}
	dryRun := dryrun.IsDryRun(deleteOptions.DryRun)

	obj, err := r.pods.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	// A pod that has finished, not started, or is going already disrupts
	// nothing more: no budget is consulted.
	if canIgnoreBudget(pod) {
		return r.delete(ctx, pod, deleteOptions, dryRun)
	}
	budgets, err := r.budgets(ctx, pod)
	if err != nil {
		return nil, err
	}
	switch len(budgets) {
	case 0:
		return r.delete(ctx, pod, deleteOptions, dryRun)
	case 1:
	default:
		return nil, apierrors.NewInternalError(errors.New("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	}
	pdb := budgets[0]
	// Only a disruption of a healthy pod is counted against the budget; an
	// unhealthy one may go when the policy says so.
	if !podReady(pod) {
		policy := pdb.Spec.UnhealthyPodEvictionPolicy
		if policy != nil && *policy == policyv1.AlwaysAllow {
			return r.delete(ctx, pod, withVersion(deleteOptions, pod), dryRun)
		}
		if pdb.Status.DesiredHealthy > 0 && pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy {
			return r.delete(ctx, pod, withVersion(deleteOptions, pod), dryRun)
		}
	}
	if err := r.takeDisruption(ctx, pdb, pod.Name, dryRun); err != nil {
		return nil, err
	}
	return r.delete(ctx, pod, deleteOptions, dryRun)
}

// canIgnoreBudget: as upstream, a pod that succeeded, failed, is pending or
// is being deleted is evicted without a budget's say.
func canIgnoreBudget(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return pod.DeletionTimestamp != nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// withVersion makes the delete conditional on the pod being as read, so
// that a pod that became healthy meanwhile is not deleted unchecked.
func withVersion(options *metav1.DeleteOptions, pod *corev1.Pod) *metav1.DeleteOptions {
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	if options.Preconditions.ResourceVersion == nil {
		rv := pod.ResourceVersion
		options.Preconditions.ResourceVersion = &rv
	}
	return options
}

// budgets lists the budgets in the pod's namespace whose selector matches
// it. As in policy/v1, a missing selector matches no pod and an empty one
// every pod.
func (r *EvictionREST) budgets(ctx context.Context, pod *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	store, ok := r.env.stores[pdbResource]
	if !ok {
		return nil, nil
	}
	list, err := store.List(ctx, &metainternalversion.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for i := range list.(*policyv1.PodDisruptionBudgetList).Items {
		pdb := &list.(*policyv1.PodDisruptionBudgetList).Items[i]
		if pdb.Namespace != pod.Namespace || pdb.Spec.Selector == nil {
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !selector.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out, nil
}

// takeDisruption checks that pdb, as stored now, allows a disruption and
// takes it: one fewer allowed, the pod named among the disrupted ones.
func (r *EvictionREST) takeDisruption(ctx context.Context, pdb *policyv1.PodDisruptionBudget, podName string, dryRun bool) error {
	store := r.env.stores[pdbResource]
	key, err := store.KeyFunc(ctx, pdb.Name)
	if err != nil {
		return err
	}
	check := func(pdb *policyv1.PodDisruptionBudget) error {
		if pdb.Status.ObservedGeneration < pdb.Generation {
			return tooManyRequests(fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name))
		}
		if pdb.Status.DisruptionsAllowed < 0 {
			return apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, errors.New("pdb disruptions allowed is negative"))
		}
		if len(pdb.Status.DisruptedPods) > maxDisruptedPods {
			return apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, errors.New("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
		}
		if pdb.Status.DisruptionsAllowed == 0 {
			return tooManyRequests(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
		}
		return nil
	}
	if dryRun {
		current, err := store.Get(ctx, pdb.Name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		return check(current.(*policyv1.PodDisruptionBudget))
	}
	return store.Storage.GuaranteedUpdate(ctx, key, &policyv1.PodDisruptionBudget{}, false, nil,
		storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
			pdb := obj.(*policyv1.PodDisruptionBudget)
			if err := check(pdb); err != nil {
				return nil, err
			}
			pdb.Status.DisruptionsAllowed--
			if pdb.Status.DisruptionsAllowed == 0 {
				setPDBCondition(pdb, metav1.ConditionFalse, policyv1.InsufficientPodsReason, "")
			}
			if pdb.Status.DisruptedPods == nil {
				pdb.Status.DisruptedPods = map[string]metav1.Time{}
			}
			// The disruption controller does not count the pod as healthy
			// while it is named here, and forgets it if it is not deleted
			// within a few minutes.
			pdb.Status.DisruptedPods[podName] = metav1.Time{Time: time.Now()}
			return pdb, nil
		}), false, nil)
}

// setPDBCondition sets the DisruptionAllowed condition, keeping its
// transition time when the status stays.
func setPDBCondition(pdb *policyv1.PodDisruptionBudget, status metav1.ConditionStatus, reason, message string) {
	cond := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: status, Reason: reason, Message: message,
		ObservedGeneration: pdb.Status.ObservedGeneration, LastTransitionTime: metav1.Now()}
	for i, c := range pdb.Status.Conditions {
		if c.Type == cond.Type {
			if c.Status == cond.Status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
			pdb.Status.Conditions[i] = cond
			return
		}
	}
	pdb.Status.Conditions = append(pdb.Status.Conditions, cond)
}

// tooManyRequests is the 429 of a refused eviction, its cause naming why.
func tooManyRequests(cause string) error {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

// delete marks the pod as disrupted by the eviction API (the
// DisruptionTarget condition, as upstream), then deletes it with options.
func (r *EvictionREST) delete(ctx context.Context, pod *corev1.Pod, options *metav1.DeleteOptions, dryRun bool) (runtime.Object, error) {
	if !dryRun {
		key, err := r.pods.KeyFunc(ctx, pod.Name)
		if err != nil {
			return nil, err
		}
		var precond *storage.Preconditions
		if options.Preconditions != nil && options.Preconditions.ResourceVersion != nil {
			precond = &storage.Preconditions{ResourceVersion: options.Preconditions.ResourceVersion}
		}
		updated := &corev1.Pod{}
		err = r.pods.Storage.GuaranteedUpdate(ctx, key, updated, false, precond,
			storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
				p := obj.(*corev1.Pod)
				setCondition(&p.Status, corev1.PodCondition{
					Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now(),
					Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting",
				})
				return p, nil
			}), false, nil)
		if err != nil {
			return nil, err
		}
		if precond != nil {
			rv := updated.ResourceVersion
			options.Preconditions.ResourceVersion = &rv
		}
	}
	if _, _, err := r.pods.Delete(ctx, pod.Name, rest.ValidateAllObjectFunc, options); err != nil {
		return nil, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess}, nil
}
