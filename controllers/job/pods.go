package job

import (
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// orphanPrefix starts the queue keys of pods that carry the tracking
// finalizer but whose Job is gone: "pod:<namespace>/<name>". No Job key
// starts so, since a namespace name cannot hold a colon.
const orphanPrefix = "pod:"

func orphanKey(p *corev1.Pod) string { return orphanPrefix + p.Namespace + "/" + p.Name }

func hasFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer)
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// isActive reports whether a pod still counts as running for its Job: not
// finished and not being deleted.
func isActive(p *corev1.Pod) bool { return !isTerminal(p) && p.DeletionTimestamp == nil }

// isTerminating reports whether a pod is being deleted but still runs.
func isTerminating(p *corev1.Pod) bool { return !isTerminal(p) && p.DeletionTimestamp != nil }

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// isFailed reports whether a pod counts as failed for its Job: it failed,
// or, unless the Job replaces only failed pods, it is being deleted before
// it succeeded.
func isFailed(p *corev1.Pod, j *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailed(j) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

func onlyReplaceFailed(j *batchv1.Job) bool {
	return j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed
}

// finishTime is when a pod finished: its containers' latest termination,
// else when it stopped being ready, else its deletion, else now.
func finishTime(p *corev1.Pod, now time.Time) time.Time {
	var t time.Time
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		if term := cs.State.Terminated; term != nil && term.FinishedAt.After(t) {
			t = term.FinishedAt.Time
		}
	}
	if !t.IsZero() {
		return t
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Time
	}
	return now
}

// noIndex is what completionIndex returns for a pod without a valid index.
const noIndex = -1

// completionIndex returns the pod's completion index annotation, or noIndex.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	ix, err := strconv.Atoi(v)
	if err != nil || ix < 0 {
		return noIndex
	}
	return ix
}

// parseIndexes reads a completedIndexes string ("1,3-5") and keeps the
// indexes below completions. Malformed parts are skipped.
func parseIndexes(s string, completions int) sets.Set[int] {
	out := sets.New[int]()
	if s == "" {
		return out
	}
	for part := range strings.SplitSeq(s, ",") {
		first, last, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(first)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(last); err != nil {
				continue
			}
		}
		for ix := a; ix <= b && ix < completions; ix++ {
			out.Insert(ix)
		}
	}
	return out
}

// formatIndexes writes indexes as upstream does: ascending, runs of three or
// more as "a-b", others separated by commas.
func formatIndexes(indexes sets.Set[int]) string {
	sorted := sets.List(indexes)
	var b strings.Builder
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(sorted[i]))
		switch {
		case j == i+1:
			b.WriteString("," + strconv.Itoa(sorted[j]))
		case j > i+1:
			b.WriteString("-" + strconv.Itoa(sorted[j]))
		}
		i = j + 1
	}
	return b.String()
}
