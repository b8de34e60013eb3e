package statefulset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/history"
	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/workload"
)

// sync brings one set's pods, claims and revisions to what its spec says
// and writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	set, err := c.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || selector.Empty() {
		return loop.Terminal(fmt.Errorf("statefulset %s has an invalid or empty selector", key))
	}
	revs, err := c.revisions(ctx, set, selector)
	if err != nil {
		return err
	}
	pods, err := workload.Claim(ctx, c.client, workload.Owner{
		Object: set, Kind: kind, Selector: selector,
		Member: func(p *corev1.Pod) bool { return isMember(set, p) },
		Fresh:  func(ctx context.Context) (metav1.Object, error) { return c.fresh(ctx, set) },
	}, workload.Candidates(c.pods, ns, set.UID))
	if err != nil {
		return err
	}

	now := c.clock.Now()
	r := &round{c: c, set: set, revs: revs, now: now}
	st, updateErr := r.run(ctx, pods)
	var statusErr error
	if st != nil {
		statusErr = c.writeStatus(ctx, set, st)
	}
	truncateErr := c.truncateHistory(ctx, set, pods, revs)
	if err := errors.Join(updateErr, statusErr, truncateErr); err != nil {
		return err
	}
	if next := nextAvailable(set, pods, now); next > 0 {
		c.requeueAfter(key, next)
	}
	return nil
}

// nextAvailable is how soon the first ready pod that is not yet available
// (minReadySeconds) becomes available, or 0 if none waits.
func nextAvailable(set *appsv1.StatefulSet, pods []*corev1.Pod, now time.Time) time.Duration {
	var next time.Duration
	for _, p := range pods {
		if _, left := workload.Available(p, set.Spec.MinReadySeconds, now); left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	return next
}

// round is one sync's work on a set: its revisions, templates and slots.
type round struct {
	c    *Controller
	set  *appsv1.StatefulSet
	revs *revisions
	now  time.Time

	currentTemplate, updateTemplate *corev1.PodTemplateSpec
	// replicas holds a pod per ordinal in range (start first); a slot with
	// no pod yet holds the pod to create. condemned holds the pods out of
	// range, highest ordinal first.
	replicas, condemned []*corev1.Pod
	status              *appsv1.StatefulSetStatus
}

// run creates, updates and deletes pods as upstream's StatefulSet control
// loop does: the pods in range are processed in ordinal order (OrderedReady
// waits for each to be running, ready and available before the next; the
// Parallel policy does them all at once), then the pods out of range are
// deleted from the highest ordinal down, then a rolling update replaces
// pods of old revisions from the highest ordinal down to the partition,
// at most maxUnavailable at a time. It returns the status to write, nil if
// the revision templates could not be made.
func (r *round) run(ctx context.Context, pods []*corev1.Pod) (*appsv1.StatefulSetStatus, error) {
	set := r.set
	var err error
	if r.currentTemplate, err = history.Template(&set.Spec.Template, r.revs.current); err != nil {
		return nil, err
	}
	if r.updateTemplate, err = history.Template(&set.Spec.Template, r.revs.update); err != nil {
		return nil, err
	}
	r.status = &appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    r.revs.current.Name,
		UpdateRevision:     r.revs.update.Name,
		CollisionCount:     &r.revs.collisions,
		Conditions:         slices.Clone(set.Status.Conditions),
	}
	r.slot(pods)
	r.count()
	if set.DeletionTimestamp != nil {
		return r.status, nil
	}
	firstUnavailable := r.firstUnavailable()

	monotonic := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
	if stop, err := r.forAll(r.replicas, monotonic, func(p *corev1.Pod) (bool, error) { return r.replica(ctx, p, monotonic) }); stop || err != nil {
		return r.status, err
	}
	if stop, err := r.forAll(r.condemned, monotonic, func(p *corev1.Pod) (bool, error) {
		if r.c.claimsMatch(set, p) {
			return false, nil
		}
		return false, r.c.updateClaimOwners(ctx, set, p)
	}); stop || err != nil {
		return r.status, err
	}
	if stop, err := r.forAll(r.condemned, monotonic, func(p *corev1.Pod) (bool, error) {
		return r.condemn(ctx, p, firstUnavailable, monotonic)
	}); stop || err != nil {
		return r.status, err
	}
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return r.status, nil
	}
	return r.status, r.rollingUpdate(ctx)
}

// slot sorts the set's pods into replicas and condemned and fills the
// empty slots with the pods to create: of the current revision below the
// partition, of the update revision from it.
func (r *round) slot(pods []*corev1.Pod) {
	set := r.set
	start, n := startOrdinal(set), replicas(set)
	r.replicas = make([]*corev1.Pod, n)
	for _, p := range pods {
		switch o := ordinalOf(p); {
		case inRange(set, o):
			r.replicas[o-start] = p
		case o >= 0:
			r.condemned = append(r.condemned, p)
		}
	}
	slices.SortFunc(r.condemned, func(a, b *corev1.Pod) int { return ordinalOf(b) - ordinalOf(a) })
	for i := range r.replicas {
		if r.replicas[i] != nil {
			continue
		}
		o := start + i
		if r.keepsCurrent(o) {
			r.replicas[i] = newPod(set, r.currentTemplate, r.revs.current.Name, o)
		} else {
			r.replicas[i] = newPod(set, r.updateTemplate, r.revs.update.Name, o)
		}
	}
}

// keepsCurrent reports whether a new pod of ordinal o gets the current
// revision: below the partition, or, for a RollingUpdate without
// rollingUpdate, below the count of pods at the current revision.
func (r *round) keepsCurrent(o int) bool {
	s, start := r.set.Spec.UpdateStrategy, startOrdinal(r.set)
	switch {
	case s.RollingUpdate != nil:
		return s.RollingUpdate.Partition != nil && o < start+int(*s.RollingUpdate.Partition)
	case s.Type == appsv1.RollingUpdateStatefulSetStrategyType:
		return o < start+int(r.set.Status.CurrentReplicas)
	}
	return false
}

// unavailable reports whether a pod does not count as available: not
// ready for minReadySeconds, or being deleted.
func (r *round) unavailable(p *corev1.Pod) bool {
	ok, _ := workload.Available(p, r.set.Spec.MinReadySeconds, r.now)
	return !ok || terminating(p)
}

func (r *round) available(p *corev1.Pod) bool {
	ok, _ := workload.Available(p, r.set.Spec.MinReadySeconds, r.now)
	return ok
}

// firstUnavailable is the lowest unavailable pod in range, or else the
// lowest unavailable condemned pod: the one scale-down may delete although
// it is unhealthy.
func (r *round) firstUnavailable() *corev1.Pod {
	for _, p := range r.replicas {
		if r.unavailable(p) {
			return p
		}
	}
	for i := len(r.condemned) - 1; i >= 0; i-- {
		if r.unavailable(r.condemned[i]) {
			return r.condemned[i]
		}
	}
	return nil
}

// forAll calls fn for each pod: in order, stopping at the first that says
// stop or fails, when monotonic; otherwise all at once in slow-start
// batches, stopping after a batch with a failure.
func (r *round) forAll(pods []*corev1.Pod, monotonic bool, fn func(*corev1.Pod) (bool, error)) (bool, error) {
	if monotonic {
		for _, p := range pods {
			if stop, err := fn(p); stop || err != nil {
				return true, err
			}
		}
		return false, nil
	}
	i := 0
	for batch := min(1, len(pods)); batch > 0; batch = min(2*batch, len(pods)-i) {
		errs := make([]error, batch)
		done := make(chan struct{}, batch)
		for j := range batch {
			go func() {
				defer func() { done <- struct{}{} }()
				_, errs[j] = fn(pods[i+j])
			}()
		}
		for range batch {
			<-done
		}
		i += batch
		if err := errors.Join(errs...); err != nil {
			return true, err
		}
	}
	return false, nil
}

// replica makes one pod in range what it should be. It says stop when a
// monotonic set must wait for this pod.
func (r *round) replica(ctx context.Context, p *corev1.Pod, monotonic bool) (bool, error) {
	c, set, logger := r.c, r.set, klog.FromContext(ctx)
	if finished(p) {
		// A failed or succeeded pod is replaced, whatever its exit code.
		if !terminating(p) {
			return true, c.deletePod(ctx, set, p)
		}
		return true, nil
	}
	if !created(p) {
		if c.claimIsStale(set, ordinalOf(p)) {
			// The garbage collector is deleting the claim; no event of ours
			// says when it is gone, so look again shortly.
			c.requeueAfter(set.Namespace+"/"+set.Name, time.Second)
			return true, nil
		}
		if err := c.createPod(ctx, set, p); err != nil {
			return true, err
		}
		return monotonic, nil
	}
	if p.Status.Phase == corev1.PodPending {
		// Claims deleted under a pending pod are made again.
		if err := c.createClaims(ctx, set, p, ordinalOf(p)); err != nil {
			return true, err
		}
		if err := c.updateClaimOwners(ctx, set, p); err != nil {
			return true, err
		}
	}
	if monotonic {
		switch {
		case terminating(p):
			logger.V(4).Info("Waiting for pod to terminate", "statefulSet", klog.KObj(set), "pod", klog.KObj(p))
			return true, nil
		case !runningAndReady(p):
			logger.V(4).Info("Waiting for pod to be running and ready", "statefulSet", klog.KObj(set), "pod", klog.KObj(p))
			return true, nil
		case !r.available(p):
			logger.V(4).Info("Waiting for pod to be available", "statefulSet", klog.KObj(set), "pod", klog.KObj(p))
			return true, nil
		}
	}
	if terminating(p) || (identityMatches(set, p) && storageMatches(set, p) && c.claimsMatch(set, p)) {
		return false, nil
	}
	return false, c.fixPod(ctx, set, p)
}

// condemn deletes a pod out of range. A monotonic set deletes one at a
// time, and only once every other pod is healthy (the first unhealthy pod
// itself may go).
func (r *round) condemn(ctx context.Context, p, firstUnavailable *corev1.Pod, monotonic bool) (bool, error) {
	if terminating(p) {
		return monotonic, nil
	}
	if monotonic && p != firstUnavailable && (!runningAndReady(p) || !r.available(p)) {
		return true, nil
	}
	klog.FromContext(ctx).V(2).Info("Deleting pod for scale down", "statefulSet", klog.KObj(r.set), "pod", klog.KObj(p))
	return true, r.c.deletePod(ctx, r.set, p)
}

// rollingUpdate deletes pods of old revisions from the highest ordinal
// down to the partition, keeping at most maxUnavailable pods unavailable;
// each is recreated at the update revision by a later sync. The Parallel
// policy first replaces old pods that are unavailable anyway.
func (r *round) rollingUpdate(ctx context.Context) error {
	set, update := r.set, r.revs.update.Name
	minIndex, maxUnavailable := 0, 1
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.Partition != nil {
			minIndex = int(*ru.Partition)
		}
		n, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(ru.MaxUnavailable, intstr.FromInt32(1)), len(r.replicas), false)
		if err != nil {
			return loop.Terminal(fmt.Errorf("statefulset %s: maxUnavailable: %w", klog.KObj(set), err))
		}
		maxUnavailable = max(n, 1)
	}
	parallel := set.Spec.PodManagementPolicy == appsv1.ParallelPodManagement
	unavailable, oldUnavailable := 0, 0
	for _, p := range r.replicas {
		if r.unavailable(p) {
			unavailable++
			if parallel && revisionOf(p) != update && !terminating(p) {
				oldUnavailable++
			}
		}
	}
	if unavailable >= maxUnavailable && oldUnavailable == 0 {
		return nil
	}
	old := func(p *corev1.Pod) bool { return revisionOf(p) != update && !terminating(p) }
	var errs []error
	remove := func(p *corev1.Pod) {
		klog.FromContext(ctx).V(2).Info("Deleting pod for update", "statefulSet", klog.KObj(set), "pod", klog.KObj(p))
		if err := r.c.deletePod(ctx, set, p); err != nil {
			errs = append(errs, err)
			return
		}
		r.status.CurrentReplicas--
	}
	budget := maxUnavailable - unavailable
	if parallel {
		for i := len(r.replicas) - 1; i >= minIndex; i-- {
			if p := r.replicas[i]; old(p) && !r.available(p) {
				remove(p)
			}
		}
		for i := len(r.replicas) - 1; i >= minIndex && budget > 0; i-- {
			if p := r.replicas[i]; old(p) && !r.unavailable(p) {
				remove(p)
				budget--
			}
		}
		return errors.Join(errs...)
	}
	for i := len(r.replicas) - 1; i >= minIndex && budget > 0; i-- {
		if p := r.replicas[i]; old(p) {
			remove(p)
			budget--
		}
	}
	return errors.Join(errs...)
}

// count sets the status's pod counts from the round's pods.
func (r *round) count() {
	st := r.status
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas, st.CurrentReplicas, st.UpdatedReplicas = 0, 0, 0, 0, 0
	for _, p := range slices.Concat(r.replicas, r.condemned) {
		if !created(p) {
			continue
		}
		st.Replicas++
		if runningAndReady(p) {
			st.ReadyReplicas++
			if r.available(p) {
				st.AvailableReplicas++
			}
		}
		if terminating(p) {
			continue
		}
		if revisionOf(p) == st.CurrentRevision {
			st.CurrentReplicas++
		}
		if revisionOf(p) == st.UpdateRevision {
			st.UpdatedReplicas++
		}
	}
}

// writeStatus completes a finished update (every replica updated and
// ready: the update revision becomes the current one) and writes the
// status if it changed.
func (c *Controller) writeStatus(ctx context.Context, set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) error {
	n := int32(replicas(set))
	if st.UpdatedReplicas == n && st.ReadyReplicas == n && st.Replicas == n {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
	if equality.Semantic.DeepEqual(&set.Status, st) {
		return nil
	}
	updated := set.DeepCopy()
	updated.Status = *st
	sets := c.client.AppsV1().StatefulSets(set.Namespace)
	_, err := sets.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// The cache is behind (often our own last write): the status is
		// ours to set, so write it onto the latest version once.
		if updated, err = sets.Get(ctx, set.Name, metav1.GetOptions{}); err == nil && updated.UID == set.UID {
			updated.Status = *st
			_, err = sets.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		}
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update status of statefulset %s: %w", klog.KObj(set), err)
	}
	return nil
}
