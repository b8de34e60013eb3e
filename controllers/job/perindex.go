package job

import (
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// An Indexed Job with spec.backoffLimitPerIndex counts failures per index:
// each pod carries batch.kubernetes.io/job-index-failure-count (failures
// of its index before it) and, when some were ignored by the pod failure
// policy, batch.kubernetes.io/job-index-ignored-failure-count. An index
// fails when a pod of it fails with its count at the limit, or a FailIndex
// rule matches; failed indexes are listed in status.failedIndexes and get
// no new pods. The last failed pod of an index keeps its finalizer until
// its replacement exists, so the replacement can carry the count on.

func perIndex(j *batchv1.Job) bool { return isIndexed(j) && j.Spec.BackoffLimitPerIndex != nil }

// annotationCount reads a non-negative count annotation; anything else is 0.
func annotationCount(p *corev1.Pod, key string) int32 {
	n, err := strconv.ParseInt(p.Annotations[key], 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

// indexFailed reports whether the failed pod p fails its index.
func indexFailed(j *batchv1.Job, p *corev1.Pod) bool {
	if !isFailed(p, j) {
		return false
	}
	v := judgeFailure(j, p)
	if v.action == batchv1.PodFailurePolicyActionFailIndex {
		return true
	}
	return v.counts && annotationCount(p, batchv1.JobIndexFailureCountAnnotation) >= *j.Spec.BackoffLimitPerIndex
}

// observeIndexFailures fills st.failedIndexes (the ones status lists and
// the ones failed pods not counted yet add) and st.delayed (per pending
// index, the failed pod whose replacement is still to be created).
func (st *state) observeIndexFailures(now time.Time) {
	job := st.job
	completions := int(*job.Spec.Completions)
	st.failedIndexes = sets.New[int]()
	if job.Status.FailedIndexes != nil {
		st.failedIndexes = parseIndexes(*job.Status.FailedIndexes, completions)
	}
	for _, p := range st.pods {
		if ix := completionIndex(p); ix != noIndex && ix < completions && hasFinalizer(p) && indexFailed(job, p) {
			st.failedIndexes.Insert(ix)
		}
	}
	activeIndexes := sets.New[int]()
	for _, p := range st.active {
		activeIndexes.Insert(completionIndex(p))
	}
	st.delayed = map[int]*corev1.Pod{}
	for _, p := range st.pods {
		ix := completionIndex(p)
		if !st.tracked(p) || !isFailed(p, job) || ix == noIndex || ix >= completions ||
			st.succeededIndexes.Has(ix) || st.failedIndexes.Has(ix) || activeIndexes.Has(ix) {
			continue
		}
		prev, ok := st.delayed[ix]
		if !ok || (absoluteFailures(prev) <= absoluteFailures(p) && !finishTime(p, now).Before(finishTime(prev, now))) {
			st.delayed[ix] = p
		}
	}
}

func absoluteFailures(p *corev1.Pod) int32 {
	return annotationCount(p, batchv1.JobIndexFailureCountAnnotation) + annotationCount(p, batchv1.JobIndexIgnoredFailureCountAnnotation)
}

// indexFailureAnnotations returns the failure count annotations of the pod
// that replaces failed (nil for an index's first pod).
func indexFailureAnnotations(j *batchv1.Job, failed *corev1.Pod) map[string]string {
	var count, ignored int32
	if failed != nil {
		count = annotationCount(failed, batchv1.JobIndexFailureCountAnnotation)
		ignored = annotationCount(failed, batchv1.JobIndexIgnoredFailureCountAnnotation)
		if judgeFailure(j, failed).counts {
			count++
		} else {
			ignored++
		}
	}
	out := map[string]string{batchv1.JobIndexFailureCountAnnotation: strconv.Itoa(int(count))}
	if ignored > 0 {
		out[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
	}
	return out
}

// readyIndexes returns the indexes whose back-off has passed (all of them
// when none failed before) or, if none has, the shortest wait.
func (c *Controller) readyIndexes(st *state, indexes []int) ([]int, time.Duration) {
	var now []int
	var wait time.Duration
	for _, ix := range indexes {
		left := time.Duration(0)
		if p := st.delayed[ix]; p != nil {
			left = c.backoffLeft(backoff{failures: int(absoluteFailures(p)) + 1, lastFailure: finishTime(p, c.clock.Now())})
		}
		if left == 0 {
			now = append(now, ix)
		} else if wait == 0 || left < wait {
			wait = left
		}
	}
	if len(now) > 0 {
		return now, 0
	}
	return nil, wait
}
