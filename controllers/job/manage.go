package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
)

// manage creates or deletes pods so that the Job runs as many as it should,
// and returns how many are active afterwards. A sync either deletes or
// creates, never both; deletions come first.
func (c *Controller) manage(ctx context.Context, st *state) (int32, error) {
	job := st.job
	active := int32(len(st.active))
	if isSuspended(job) {
		deleted, deletedReady, err := c.deletePods(ctx, st, st.active, true)
		st.terminating += deleted
		st.ready -= deletedReady
		return active - deleted, err
	}
	parallelism := *job.Spec.Parallelism
	want := parallelism
	switch {
	case job.Spec.Completions != nil:
		want = max(0, min(*job.Spec.Completions-st.succeeded, parallelism))
	case st.succeeded > 0:
		want = active // one success: let the running pods finish, start no more
	}
	if remove := surplus(st, int(max(0, active-want))); len(remove) > 0 {
		if len(remove) > maxPodsPerSync {
			remove = remove[:maxPodsPerSync]
		}
		klog.FromContext(ctx).V(4).Info("Too many pods running", "job", klog.KObj(job), "deleting", len(remove), "want", want)
		deleted, deletedReady, err := c.deletePods(ctx, st, remove, true)
		st.terminating += deleted
		st.ready -= deletedReady
		return active - deleted, err
	}
	var terminating int32
	if onlyReplaceFailed(job) {
		terminating = st.terminating
	}
	diff := want - terminating - active
	if diff <= 0 {
		return active, nil
	}
	if left := c.backoffLeft(st.backoff); left > 0 && !perIndex(job) {
		klog.FromContext(ctx).V(4).Info("Pods failed, waiting before creating more", "job", klog.KObj(job), "for", left)
		c.loop.AddAfter(st.key, left)
		return active, nil
	}
	n := min(int(diff), maxPodsPerSync)
	var indexes []int
	if isIndexed(job) {
		indexes = pendingIndexes(st, n)
		if perIndex(job) {
			var wait time.Duration
			if indexes, wait = c.readyIndexes(st, indexes); len(indexes) == 0 {
				if wait > 0 {
					c.loop.AddAfter(st.key, wait)
				}
				return active, nil
			}
		}
		n = len(indexes)
	}
	klog.FromContext(ctx).V(4).Info("Too few pods running", "job", klog.KObj(job), "creating", n, "want", want)
	created, err := c.createPods(ctx, st, n, indexes)
	return active + created, err
}

// surplus returns the active pods to delete: for an Indexed Job, those
// without a valid index, of an index that succeeded, or a second one of an
// index; then, until at least n are chosen, the least advanced ones.
func surplus(st *state, n int) []*corev1.Pod {
	var remove, keep []*corev1.Pod
	if isIndexed(st.job) {
		completions := int(*st.job.Spec.Completions)
		seen := sets.New[int]()
		for _, p := range st.active {
			ix := completionIndex(p)
			if ix == noIndex || ix >= completions || st.succeededIndexes.Has(ix) || seen.Has(ix) {
				remove = append(remove, p)
				continue
			}
			seen.Insert(ix)
			keep = append(keep, p)
		}
	} else {
		keep = slices.Clone(st.active)
	}
	if more := n - len(remove); more > 0 {
		slices.SortStableFunc(keep, lessAdvanced)
		remove = append(remove, keep[:min(more, len(keep))]...)
	}
	return remove
}

// lessAdvanced orders pods so that the ones with the least to lose come
// first: unscheduled, then pending, then not ready, then the newest.
func lessAdvanced(a, b *corev1.Pod) int {
	rank := func(p *corev1.Pod) int {
		switch {
		case p.Spec.NodeName == "":
			return 0
		case p.Status.Phase == corev1.PodPending:
			return 1
		case !isReady(p):
			return 2
		}
		return 3
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
}

// pendingIndexes returns up to n of the lowest indexes that have neither
// succeeded nor a pod running (or, when only failed pods are replaced,
// terminating).
func pendingIndexes(st *state, n int) []int {
	busy := st.succeededIndexes.Union(st.failedIndexes)
	for _, p := range st.pods {
		if isActive(p) || (onlyReplaceFailed(st.job) && isTerminating(p)) {
			busy.Insert(completionIndex(p))
		}
	}
	var out []int
	for ix := 0; ix < int(*st.job.Spec.Completions) && len(out) < n; ix++ {
		if !busy.Has(ix) {
			out = append(out, ix)
		}
	}
	return out
}

// createPods creates n pods (one per index for an Indexed Job) in
// slow-start batches of 1, 2, 4, ..., stopping after a batch with a failure.
// It returns how many were created.
func (c *Controller) createPods(ctx context.Context, st *state, n int, indexes []int) (int32, error) {
	c.memory.expect(st.key, n, 0)
	var created atomic.Int32
	var errs []error
	var mu sync.Mutex
	next := 0
	for batch := 1; next < n; batch *= 2 {
		size := min(batch, n-next)
		var wg sync.WaitGroup
		failed := false
		for i := next; i < next+size; i++ {
			ix := noIndex
			if indexes != nil {
				ix = indexes[i]
			}
			wg.Go(func() {
				var extra map[string]string
				if perIndex(st.job) {
					extra = indexFailureAnnotations(st.job, st.delayed[ix])
				}
				err := c.createPod(ctx, st.job, ix, extra)
				if err == nil {
					created.Add(1)
					return
				}
				c.memory.created(st.key) // never coming
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return
				}
				mu.Lock()
				errs, failed = append(errs, err), true
				mu.Unlock()
			})
		}
		wg.Wait()
		next += size
		if failed {
			for range n - next {
				c.memory.created(st.key) // not tried
			}
			break
		}
	}
	return created.Load(), errors.Join(errs...)
}

// createPod creates one pod of the Job, with the tracking finalizer and, for
// index ix (noIndex for none), the completion index, and the extra
// annotations.
func (c *Controller) createPod(ctx context.Context, job *batchv1.Job, ix int, extra map[string]string) error {
	t := job.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    job.Name + "-",
			Namespace:       job.Namespace,
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, jobKind)},
		},
		Spec: t.Spec,
	}
	if len(extra) > 0 && pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	maps.Copy(pod.Annotations, extra)
	if !slices.Contains(pod.Finalizers, batchv1.JobTrackingFinalizer) {
		pod.Finalizers = append(pod.Finalizers, batchv1.JobTrackingFinalizer)
	}
	if ix != noIndex {
		s := strconv.Itoa(ix)
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Annotations[batchv1.JobCompletionIndexAnnotation] = s
		pod.Labels[batchv1.JobCompletionIndexAnnotation] = s
		pod.GenerateName = job.Name + "-" + s + "-"
		pod.Spec.Hostname = job.Name + "-" + s
		for i := range pod.Spec.InitContainers {
			addIndexEnv(&pod.Spec.InitContainers[i])
		}
		for i := range pod.Spec.Containers {
			addIndexEnv(&pod.Spec.Containers[i])
		}
	}
	created, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.events.Eventf(job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		}
		return fmt.Errorf("create pod for job %s: %w", klog.KObj(job), err)
	}
	klog.FromContext(ctx).V(4).Info("Created pod", "job", klog.KObj(job), "pod", klog.KObj(created))
	c.events.Eventf(job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.Name)
	return nil
}

// indexEnv is the variable that tells a container its completion index.
const indexEnv = "JOB_COMPLETION_INDEX"

func addIndexEnv(ctr *corev1.Container) {
	if slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == indexEnv }) {
		return
	}
	ctr.Env = append(ctr.Env, corev1.EnvVar{Name: indexEnv, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']"},
	}})
}

// deletePods deletes pods of the Job, each bound to its uid, and returns
// how many were deleted and how many of those were ready. With release,
// each pod's tracking finalizer is removed first, so that it does not count
// as failed.
func (c *Controller) deletePods(ctx context.Context, st *state, pods []*corev1.Pod, release bool) (int32, int32, error) {
	c.memory.expect(st.key, 0, len(pods))
	var deleted, deletedReady atomic.Int32
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Go(func() {
			err := c.deletePod(ctx, st, p, release)
			if err != nil {
				c.memory.deleted(st.key) // never coming, or already seen
			}
			if err != nil && !apierrors.IsNotFound(err) {
				errs[i] = err
				return
			}
			deleted.Add(1)
			if isReady(p) {
				deletedReady.Add(1)
			}
		})
	}
	wg.Wait()
	return deleted.Load(), deletedReady.Load(), errors.Join(errs...)
}

func (c *Controller) deletePod(ctx context.Context, st *state, p *corev1.Pod, release bool) error {
	if release && hasFinalizer(p) {
		if err := c.removeFinalizer(ctx, p); err != nil {
			return err
		}
	}
	uid := p.UID
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		c.events.Eventf(st.job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s: %w", klog.KObj(p), err)
	}
	if err == nil {
		c.events.Eventf(st.job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
	}
	return err
}

// removeFinalizer removes the tracking finalizer from the pod with uid p.UID.
func (c *Controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	patch := fmt.Appendf(nil, `{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q],"uid":%q}}`,
		batchv1.JobTrackingFinalizer, p.UID)
	_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("remove tracking finalizer of pod %s: %w", klog.KObj(p), err)
	}
	return nil
}
