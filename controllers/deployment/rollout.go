package deployment

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"
)

// limits returns how many pods above and below its replicas a Deployment
// may have during a rolling update: maxSurge rounded up, maxUnavailable
// rounded down (at most replicas), and, if both come out zero, one
// unavailable pod so the rollout can move. Recreate has neither.
func limits(d *appsv1.Deployment) (surge, unavailable int32) {
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return 0, 0
	}
	ru := d.Spec.Strategy.RollingUpdate
	if ru == nil {
		ru = &appsv1.RollingUpdateDeployment{}
	}
	n := int(desired(d))
	quarter := intstr.FromString("25%")
	s, err := intstr.GetScaledValueFromIntOrPercent(orDefault(ru.MaxSurge, &quarter), n, true)
	if err != nil {
		s = 0
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(orDefault(ru.MaxUnavailable, &quarter), n, false)
	if err != nil {
		u = 0
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), min(int32(u), desired(d))
}

func orDefault(v, def *intstr.IntOrString) *intstr.IntOrString {
	if v == nil {
		return def
	}
	return v
}

// rollout is one sync's view of a Deployment's ReplicaSets. Scaling
// replaces entries with the updated objects.
type rollout struct {
	d       *appsv1.Deployment
	newRS   *appsv1.ReplicaSet // nil until created
	old     []*appsv1.ReplicaSet
	created bool // this sync created newRS
}

func (r *rollout) all() []*appsv1.ReplicaSet {
	if r.newRS == nil {
		return r.old
	}
	return append(slices.Clone(r.old), r.newRS)
}

// ensureNewRS brings the current ReplicaSet's annotations, revision and
// minReadySeconds up to date, or, with create, makes it if it is missing.
func (c *Controller) ensureNewRS(ctx context.Context, r *rollout, create bool) error {
	d := r.d
	rev := maxRevision(r.old) + 1
	if r.newRS != nil {
		updated := r.newRS.DeepCopy()
		changed := annotate(d, updated, rev)
		if updated.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			updated.Spec.MinReadySeconds, changed = d.Spec.MinReadySeconds, true
		}
		if changed {
			saved, err := c.client.AppsV1().ReplicaSets(d.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
			if err != nil {
				return fmt.Errorf("update replica set %s: %w", klog.KObj(updated), err)
			}
			r.newRS = saved
		}
		return c.setRevision(ctx, d, r.newRS)
	}
	if !create {
		return nil
	}
	surge, _ := limits(d)
	rs := newReplicaSet(d, rev, 0, surge)
	n := newReplicas(d, append(slices.Clone(r.old), rs), rs)
	rs.Spec.Replicas = &n
	saved, err := c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, gerr := c.client.AppsV1().ReplicaSets(d.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("get replica set %s: %w", rs.Name, gerr)
		}
		if metav1.IsControlledBy(existing, d) && sameTemplate(&existing.Spec.Template, &d.Spec.Template) {
			return fmt.Errorf("replica set %s exists but is not in the cache yet", rs.Name)
		}
		// Another template has this name: change the hash and try again.
		updated := d.DeepCopy()
		updated.Status.CollisionCount = new(int32)
		if d.Status.CollisionCount != nil {
			*updated.Status.CollisionCount = *d.Status.CollisionCount + 1
		}
		if _, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("count hash collision of deployment %s: %w", klog.KObj(d), err)
		}
		return fmt.Errorf("replica set name %s is taken by another template", rs.Name)
	}
	if err != nil {
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		c.events.Eventf(d, corev1.EventTypeWarning, "FailedCreate", "%s", msg)
		if d.Spec.ProgressDeadlineSeconds != nil {
			updated := d.DeepCopy()
			now := metav1.NewTime(c.clock.Now())
			setCondition(&updated.Status, condition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonCreateError, msg, now))
			if _, uerr := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); uerr != nil {
				klog.FromContext(ctx).V(2).Info("Cannot record the failed create", "deployment", klog.KObj(d), "err", uerr)
			}
		}
		return fmt.Errorf("create replica set %s: %w", rs.Name, err)
	}
	c.events.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", saved.Name, n)
	r.newRS, r.created = saved, true
	return c.setRevision(ctx, d, saved)
}

// setRevision records the current ReplicaSet's revision on the Deployment.
func (c *Controller) setRevision(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet) error {
	rev := rs.Annotations[RevisionAnnotation]
	if rev == "" || d.Annotations[RevisionAnnotation] == rev {
		return nil
	}
	// An update, as upstream's controller writes it: its role
	// (system:controller:deployment-controller) may update Deployments,
	// not patch them. A conflict requeues the Deployment.
	updated := d.DeepCopy()
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	updated.Annotations[RevisionAnnotation] = rev
	saved, err := c.client.AppsV1().Deployments(d.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("set revision of deployment %s: %w", klog.KObj(d), err)
	}
	// The whole of the saved metadata: keeping older labels beside the new
	// resourceVersion would let a later write undo a user's change.
	d.ObjectMeta = saved.ObjectMeta
	return nil
}

// newReplicas is how many replicas the current ReplicaSet should have now:
// all of them for Recreate; for a rolling update as many more as maxSurge
// allows over all sets, never more than the Deployment's replicas.
func newReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return desired(d)
	}
	surge, _ := limits(d)
	current := specTotal(all)
	have := replicas(newRS.Spec.Replicas)
	if current >= desired(d)+surge {
		return have
	}
	return have + min(desired(d)+surge-current, desired(d)-have)
}

func specTotal(sets []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		n += replicas(rs.Spec.Replicas)
	}
	return n
}

// rolling advances a RollingUpdate one step: create or scale up the
// current ReplicaSet within maxSurge, then scale old ones down within
// maxUnavailable, unavailable pods first.
func (c *Controller) rolling(ctx context.Context, r *rollout) error {
	if err := c.ensureNewRS(ctx, r, true); err != nil {
		return err
	}
	if n := newReplicas(r.d, r.all(), r.newRS); n != replicas(r.newRS.Spec.Replicas) {
		saved, err := c.scaleReplicaSet(ctx, r.d, r.newRS, n)
		if err != nil {
			return err
		}
		r.newRS = saved
		return c.writeStatus(ctx, r, true)
	}
	if err := c.scaleDownOld(ctx, r); err != nil {
		return err
	}
	if complete(r.d, r.newRS, r.all()) {
		if err := c.cleanup(ctx, r); err != nil {
			return err
		}
	}
	return c.writeStatus(ctx, r, true)
}

// scaleDownOld scales old ReplicaSets down as far as maxUnavailable allows:
// first their unavailable replicas, then available ones, oldest first.
func (c *Controller) scaleDownOld(ctx context.Context, r *rollout) error {
	if specTotal(r.old) == 0 {
		return nil
	}
	_, unavailable := limits(r.d)
	minAvailable := desired(r.d) - unavailable
	newUnavailable := replicas(r.newRS.Spec.Replicas) - r.newRS.Status.AvailableReplicas
	budget := specTotal(r.all()) - minAvailable - newUnavailable
	if budget <= 0 {
		return nil
	}
	for i, rs := range r.old {
		have := replicas(rs.Spec.Replicas)
		unhealthy := have - rs.Status.AvailableReplicas
		if budget <= 0 || have == 0 || unhealthy <= 0 {
			continue
		}
		down := min(budget, unhealthy)
		saved, err := c.scaleReplicaSet(ctx, r.d, rs, have-down)
		if err != nil {
			return err
		}
		r.old[i], budget = saved, budget-down
	}
	// A set just scaled down still reports the available pods it is about
	// to delete: count no more than its replicas, or a sync that sees the
	// stale status would scale down again past maxUnavailable.
	var available int32
	for _, rs := range r.all() {
		available += min(rs.Status.AvailableReplicas, replicas(rs.Spec.Replicas))
	}
	excess := available - minAvailable
	for i, rs := range r.old {
		have := replicas(rs.Spec.Replicas)
		if excess <= 0 || have == 0 {
			continue
		}
		down := min(have, excess)
		saved, err := c.scaleReplicaSet(ctx, r.d, rs, have-down)
		if err != nil {
			return err
		}
		r.old[i], excess = saved, excess-down
	}
	return nil
}

// recreate runs a Recreate rollout: old ReplicaSets go to zero, and only
// once none of their pods runs does the current one come up.
func (c *Controller) recreate(ctx context.Context, r *rollout) error {
	if err := c.ensureNewRS(ctx, r, false); err != nil {
		return err
	}
	scaled := false
	for i, rs := range r.old {
		if replicas(rs.Spec.Replicas) == 0 {
			continue
		}
		saved, err := c.scaleReplicaSet(ctx, r.d, rs, 0)
		if err != nil {
			return err
		}
		r.old[i], scaled = saved, true
	}
	if scaled || c.oldPodsRunning(r) {
		return c.writeStatus(ctx, r, true)
	}
	if err := c.ensureNewRS(ctx, r, true); err != nil {
		return err
	}
	if replicas(r.newRS.Spec.Replicas) != desired(r.d) {
		saved, err := c.scaleReplicaSet(ctx, r.d, r.newRS, desired(r.d))
		if err != nil {
			return err
		}
		r.newRS = saved
	}
	if complete(r.d, r.newRS, r.all()) {
		if err := c.cleanup(ctx, r); err != nil {
			return err
		}
	}
	return c.writeStatus(ctx, r, true)
}

// oldPodsRunning reports whether any pod of an old ReplicaSet has not
// finished (pods being deleted still run).
func (c *Controller) oldPodsRunning(r *rollout) bool {
	uids := map[types.UID]bool{}
	for _, rs := range r.old {
		if rs.Status.Replicas > 0 {
			return true
		}
		uids[rs.UID] = true
	}
	pods, err := c.pods.Pods(r.d.Namespace).List(labels.Everything())
	if err != nil {
		return true
	}
	for _, p := range pods {
		ref := metav1.GetControllerOfNoCopy(p)
		if ref != nil && uids[ref.UID] && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return true
		}
	}
	return false
}

// complete reports whether the current ReplicaSet has all the replicas,
// all available, and no old one has any.
func complete(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet) bool {
	if newRS == nil {
		return false
	}
	var total int32
	for _, rs := range all {
		total += rs.Status.Replicas
	}
	return newRS.Status.Replicas == desired(d) && newRS.Status.AvailableReplicas == desired(d) && total == desired(d)
}

// cleanup deletes the oldest old ReplicaSets that have scaled to zero
// beyond revisionHistoryLimit.
func (c *Controller) cleanup(ctx context.Context, r *rollout) error {
	limit := r.d.Spec.RevisionHistoryLimit
	if limit == nil {
		return nil
	}
	var idle []*appsv1.ReplicaSet
	for _, rs := range r.old {
		if replicas(rs.Spec.Replicas) == 0 && rs.Status.Replicas == 0 && rs.DeletionTimestamp == nil &&
			rs.Status.ObservedGeneration >= rs.Generation {
			idle = append(idle, rs)
		}
	}
	extra := len(idle) - int(*limit)
	if extra <= 0 {
		return nil
	}
	slices.SortStableFunc(idle, func(a, b *appsv1.ReplicaSet) int {
		return cmp.Or(cmp.Compare(revision(a), revision(b)), oldestFirst(a, b))
	})
	for _, rs := range idle[:extra] {
		uid := rs.UID
		err := c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete old replica set %s: %w", klog.KObj(rs), err)
		}
		klog.FromContext(ctx).V(2).Info("Deleted old replica set", "replicaSet", klog.KObj(rs), "revision", strconv.FormatInt(revision(rs), 10))
	}
	return nil
}
