// Package disruption implements the disruption controller: it keeps the
// status of every PodDisruptionBudget current, so that evictions know how
// many of the budget's pods may be disrupted right now.
//
// For each budget it counts the pods its selector matches (a nil selector
// matches none, an empty one every pod of the namespace) and works out, as
// upstream does:
//   - expectedPods: with an integer minAvailable, the number of matching
//     pods; with a percentage minAvailable or any maxUnavailable, the sum of
//     the replicas of the controllers owning them (ReplicaSet, or the
//     Deployment owning it; StatefulSet; ReplicationController). A pod
//     without a controller does not count towards that sum.
//   - desiredHealthy: minAvailable (scaled, rounded up), or expectedPods
//     minus maxUnavailable (scaled, rounded up; never below zero).
//   - currentHealthy: matching pods that are Ready, not being deleted and
//     not listed in disruptedPods (an eviction's record, kept for two
//     minutes or until the pod is deleted).
//   - disruptionsAllowed: currentHealthy - desiredHealthy, and zero when
//     that is negative or when no pod is expected.
//
// The DisruptionAllowed condition is True (SufficientPods) when a
// disruption is allowed and False (InsufficientPods) otherwise; when the
// numbers cannot be worked out (a pod's controller is missing), the budget
// allows no disruption and the condition is False with reason SyncFailed.
// observedGeneration is the budget's generation the status was computed
// for. The status is written only when it changes.
package disruption

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	policyinformers "k8s.io/client-go/informers/policy/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// DeletionTimeout is how long a pod an eviction recorded in disruptedPods
// counts as unhealthy while it is not yet being deleted.
const DeletionTimeout = 2 * time.Minute

// Config holds what the controller needs. Every field but Clock is
// required; the informers are shared ones that the caller starts.
type Config struct {
	Client                 kubernetes.Interface
	PodDisruptionBudgets   policyinformers.PodDisruptionBudgetInformer
	Pods                   coreinformers.PodInformer
	ReplicaSets            appsinformers.ReplicaSetInformer
	Deployments            appsinformers.DeploymentInformer
	StatefulSets           appsinformers.StatefulSetInformer
	ReplicationControllers coreinformers.ReplicationControllerInformer
	// Clock defaults to the real clock.
	Clock clock.PassiveClock
}

// Controller keeps PodDisruptionBudget status current.
type Controller struct {
	client       kubernetes.Interface
	pdbs         policylisters.PodDisruptionBudgetLister
	pods         corelisters.PodLister
	replicaSets  appslisters.ReplicaSetLister
	deployments  appslisters.DeploymentLister
	statefulSets appslisters.StatefulSetLister
	rcs          corelisters.ReplicationControllerLister
	clock        clock.PassiveClock
	loop         *loop.Loop
}

// New returns a controller whose event handlers are registered on the
// informers; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.PodDisruptionBudgets == nil || cfg.Pods == nil || cfg.ReplicaSets == nil ||
		cfg.Deployments == nil || cfg.StatefulSets == nil || cfg.ReplicationControllers == nil {
		return nil, errors.New("disruption controller: Client and every informer are required")
	}
	c := &Controller{
		client:       cfg.Client,
		pdbs:         cfg.PodDisruptionBudgets.Lister(),
		pods:         cfg.Pods.Lister(),
		replicaSets:  cfg.ReplicaSets.Lister(),
		deployments:  cfg.Deployments.Lister(),
		statefulSets: cfg.StatefulSets.Lister(),
		rcs:          cfg.ReplicationControllers.Lister(),
		clock:        cfg.Clock,
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("disruption-controller", c.sync)
	if err := loop.Watch(c.loop, cfg.PodDisruptionBudgets.Informer(), loop.OwnKey, true); err != nil {
		return nil, err
	}
	if err := loop.Watch(c.loop, cfg.Pods.Informer(), c.budgetsOf, true); err != nil {
		return nil, err
	}
	for _, inf := range []cache.SharedIndexInformer{cfg.ReplicaSets.Informer(), cfg.Deployments.Informer(),
		cfg.StatefulSets.Informer(), cfg.ReplicationControllers.Informer()} {
		c.loop.WaitFor(inf.HasSynced)
	}
	return c, nil
}

// Run syncs budgets with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// budgetsOf returns the keys of the budgets whose selector matches a pod.
func (c *Controller) budgetsOf(obj any) []string {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	pdbs, err := c.pdbs.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	for _, pdb := range pdbs {
		if sel, err := selectorOf(pdb); err == nil && sel.Matches(labels.Set(pod.Labels)) {
			keys = append(keys, pdb.Namespace+"/"+pdb.Name)
		}
	}
	return keys
}

func selectorOf(pdb *policyv1.PodDisruptionBudget) (labels.Selector, error) {
	if pdb.Spec.Selector == nil {
		return labels.Nothing(), nil
	}
	return metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	pdb, err := c.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	status, recheck, err := c.compute(pdb)
	if err != nil {
		// Fail closed: no disruption is allowed while the numbers are unknown.
		status = pdb.Status.DeepCopy()
		status.DisruptionsAllowed = 0
		apimeta.SetStatusCondition(&status.Conditions, metav1.Condition{
			Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
			Reason: policyv1.SyncFailedReason, Message: err.Error(), ObservedGeneration: status.ObservedGeneration,
		})
		if werr := c.write(ctx, pdb, status); werr != nil {
			return errors.Join(err, werr)
		}
		return err
	}
	if err := c.write(ctx, pdb, status); err != nil {
		return err
	}
	if recheck > 0 {
		c.loop.AddAfter(key, recheck)
	}
	return nil
}

// write updates the budget's status if it differs from status.
func (c *Controller) write(ctx context.Context, pdb *policyv1.PodDisruptionBudget, status *policyv1.PodDisruptionBudgetStatus) error {
	if equality.Semantic.DeepEqual(&pdb.Status, status) {
		return nil
	}
	updated := pdb.DeepCopy()
	updated.Status = *status
	_, err := c.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// compute returns the status the budget should have, and after how long
// it must be computed again because a disrupted pod's record expires (zero
// if none does).
func (c *Controller) compute(pdb *policyv1.PodDisruptionBudget) (*policyv1.PodDisruptionBudgetStatus, time.Duration, error) {
	sel, err := selectorOf(pdb)
	if err != nil {
		return nil, 0, fmt.Errorf("invalid selector: %w", err)
	}
	pods, err := c.pods.Pods(pdb.Namespace).List(sel)
	if err != nil {
		return nil, 0, err
	}
	expected, desired, err := c.expectedAndDesired(pdb, pods)
	if err != nil {
		return nil, 0, err
	}
	now := c.clock.Now()
	disrupted, recheck := disruptedPods(pdb, pods, now)
	var healthy int32
	for _, p := range pods {
		if _, recorded := disrupted[p.Name]; p.DeletionTimestamp == nil && !recorded && podReady(p) {
			healthy++
		}
	}
	allowed := healthy - desired
	if expected <= 0 || allowed < 0 {
		allowed = 0
	}
	status := &policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation,
		DisruptedPods:      disrupted,
		DisruptionsAllowed: allowed,
		CurrentHealthy:     healthy,
		DesiredHealthy:     desired,
		ExpectedPods:       expected,
		Conditions:         append([]metav1.Condition(nil), pdb.Status.Conditions...),
	}
	cond := metav1.Condition{Type: policyv1.DisruptionAllowedCondition, ObservedGeneration: pdb.Generation,
		Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason}
	if allowed > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	apimeta.SetStatusCondition(&status.Conditions, cond)
	if recheck.IsZero() {
		return status, 0, nil
	}
	return status, recheck.Sub(now), nil
}

// expectedAndDesired works out expectedPods and desiredHealthy.
func (c *Controller) expectedAndDesired(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (expected, desired int32, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		if expected, err = c.expectedScale(pods); err != nil {
			return 0, 0, err
		}
		unavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		return expected, max(0, expected-int32(unavailable)), nil
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		return int32(len(pods)), pdb.Spec.MinAvailable.IntVal, nil
	case pdb.Spec.MinAvailable != nil:
		if expected, err = c.expectedScale(pods); err != nil {
			return 0, 0, err
		}
		available, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		return expected, int32(available), nil
	}
	return 0, 0, nil
}

// expectedScale sums the replicas of the controllers owning the pods, each
// controller once (a Deployment's ReplicaSets count as the Deployment). Pods
// without a controller are left out.
func (c *Controller) expectedScale(pods []*corev1.Pod) (int32, error) {
	counted := map[types.UID]types.UID{} // a pod's controller -> the one whose scale counts
	scales := map[types.UID]int32{}
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			continue
		}
		if _, seen := counted[ref.UID]; seen {
			continue
		}
		uid, n, err := c.scaleOf(p.Namespace, ref)
		if err != nil {
			return 0, err
		}
		if uid == "" {
			return 0, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		counted[ref.UID], scales[uid] = uid, n
	}
	var sum int32
	for _, n := range scales {
		sum += n
	}
	return sum, nil
}

// scaleOf finds the controller ref names and returns the UID and replicas of
// the object whose scale counts: the ReplicaSet's Deployment if it has one.
// An empty UID means the controller is not one that is known or it is gone.
func (c *Controller) scaleOf(ns string, ref *metav1.OwnerReference) (types.UID, int32, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", 0, fmt.Errorf("owner reference %s/%s: %w", ref.Kind, ref.Name, err)
	}
	switch group := gv.Group; {
	case group == "apps" && ref.Kind == "ReplicaSet":
		rs, err := c.replicaSets.ReplicaSets(ns).Get(ref.Name)
		if apierrors.IsNotFound(err) || err == nil && rs.UID != ref.UID {
			return "", 0, nil
		} else if err != nil {
			return "", 0, err
		}
		if owner := metav1.GetControllerOf(rs); owner != nil && owner.Kind == "Deployment" {
			d, err := c.deployments.Deployments(ns).Get(owner.Name)
			if err == nil && d.UID == owner.UID {
				return d.UID, replicas(d.Spec.Replicas), nil
			}
			if err != nil && !apierrors.IsNotFound(err) {
				return "", 0, err
			}
			return "", 0, nil
		}
		return rs.UID, replicas(rs.Spec.Replicas), nil
	case group == "apps" && ref.Kind == "StatefulSet":
		ss, err := c.statefulSets.StatefulSets(ns).Get(ref.Name)
		return found(ss, err, ref, func(s *appsv1.StatefulSet) int32 { return replicas(s.Spec.Replicas) })
	case group == "" && ref.Kind == "ReplicationController":
		rc, err := c.rcs.ReplicationControllers(ns).Get(ref.Name)
		return found(rc, err, ref, func(r *corev1.ReplicationController) int32 { return replicas(r.Spec.Replicas) })
	}
	return "", 0, nil
}

func found[T metav1.Object](obj T, err error, ref *metav1.OwnerReference, scale func(T) int32) (types.UID, int32, error) {
	switch {
	case apierrors.IsNotFound(err):
		return "", 0, nil
	case err != nil:
		return "", 0, err
	case obj.GetUID() != ref.UID:
		return "", 0, nil
	}
	return obj.GetUID(), scale(obj), nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// disruptedPods keeps the records of the budget's disruptedPods that are
// still pending: the pod exists, is not yet being deleted, and the record
// is younger than DeletionTimeout. It returns when the first kept record
// expires (zero if none is kept).
func disruptedPods(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, now time.Time) (map[string]metav1.Time, time.Time) {
	kept := map[string]metav1.Time{}
	var first time.Time
	for _, p := range pods {
		at, ok := pdb.Status.DisruptedPods[p.Name]
		if !ok || p.DeletionTimestamp != nil {
			continue
		}
		expires := at.Add(DeletionTimeout)
		if !expires.After(now) {
			continue
		}
		kept[p.Name] = at
		if first.IsZero() || expires.Before(first) {
			first = expires
		}
	}
	return kept, first
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
