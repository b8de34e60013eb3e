package replicaset

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DeletionCostAnnotation lets users say which pods of a set to delete first
// on scale-down: lower cost goes first. Its value is an int32; a missing or
// invalid value counts as 0.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// phaseOrder ranks the phases of active pods: the earlier in startup, the
// sooner a pod is deleted.
func phaseOrder(p corev1.PodPhase) int {
	switch p {
	case corev1.PodUnknown:
		return 1
	case corev1.PodRunning:
		return 2
	}
	return 0
}

// podsToDelete returns the n pods that scaling down should delete, in the
// order upstream prefers: unscheduled before scheduled; Pending before
// Unknown before Running; not ready before ready; lower deletion cost first;
// pods sharing a node with more related pods first; ready for a shorter time
// first; more container restarts first; newer first. Ready and creation
// times are compared on a log2 scale of their age, so pods of about the same
// age rank alike and are told apart by uid. related are the pods of the set
// and of sets with the same controller, used to count pods per node.
func podsToDelete(pods, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	perNode := map[string]int{}
	for _, p := range related {
		if active(p) {
			perNode[p.Spec.NodeName]++
		}
	}
	sorted := slices.Clone(pods)
	slices.SortStableFunc(sorted, func(a, b *corev1.Pod) int {
		return deleteFirst(a, b, perNode, now)
	})
	return sorted[:n]
}

// deleteFirst orders a before b (negative) if a should be deleted first.
func deleteFirst(a, b *corev1.Pod, perNode map[string]int, now time.Time) int {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return boolFirst(a.Spec.NodeName == "")
	}
	if c := cmp.Compare(phaseOrder(a.Status.Phase), phaseOrder(b.Status.Phase)); c != 0 {
		return c
	}
	readyA, readyB := readySince(a), readySince(b)
	if (readyA == nil) != (readyB == nil) {
		return boolFirst(readyA == nil)
	}
	if c := cmp.Compare(deletionCost(a), deletionCost(b)); c != 0 {
		return c
	}
	if c := cmp.Compare(perNode[b.Spec.NodeName], perNode[a.Spec.NodeName]); c != 0 {
		return c
	}
	if readyA != nil && !readyA.Equal(*readyB) {
		if c := newerFirst(*readyA, *readyB, now, a, b); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(restarts(b), restarts(a)); c != 0 {
		return c
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return newerFirst(a.CreationTimestamp.Time, b.CreationTimestamp.Time, now, a, b)
	}
	return 0
}

// newerFirst orders the pod with the later time first: a zero time counts
// as newest, and times in the same log2 bucket of age tie, broken by uid.
func newerFirst(ta, tb, now time.Time, a, b *corev1.Pod) int {
	if ta.IsZero() || tb.IsZero() {
		return boolFirst(ta.IsZero())
	}
	if c := cmp.Compare(ageBucket(ta, now), ageBucket(tb, now)); c != 0 {
		return c
	}
	return cmp.Compare(a.UID, b.UID)
}

func ageBucket(t, now time.Time) int64 {
	if d := now.Sub(t); d > 0 {
		return int64(math.Log2(float64(d)))
	}
	return -1
}

func boolFirst(aFirst bool) int {
	if aFirst {
		return -1
	}
	return 1
}

// readySince returns when the pod became ready, or nil if it is not ready.
// A ready pod without a transition time gets a zero time.
func readySince(p *corev1.Pod) *time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			t := c.LastTransitionTime.Time
			return &t
		}
	}
	return nil
}

func deletionCost(p *corev1.Pod) int32 {
	v, err := strconv.ParseInt(p.Annotations[DeletionCostAnnotation], 10, 32)
	if err != nil {
		return 0
	}
	return int32(v)
}

// restarts is the highest restart count of the pod's containers, then of
// its sidecar (restartable init) containers, as one comparable number.
func restarts(p *corev1.Pod) int64 {
	var regular, sidecar int32
	for _, c := range p.Status.ContainerStatuses {
		regular = max(regular, c.RestartCount)
	}
	sidecars := map[string]bool{}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
		}
	}
	for _, c := range p.Status.InitContainerStatuses {
		if sidecars[c.Name] {
			sidecar = max(sidecar, c.RestartCount)
		}
	}
	return int64(regular)<<32 | int64(sidecar)
}

// active reports whether a pod counts towards a set's replicas: not
// finished and not being deleted.
func active(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

// terminating reports whether a pod is being deleted but not finished.
func terminating(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp != nil
}

// available reports whether a pod has been ready for minReadySeconds at
// now, and if it is ready but not yet available, how long until it is.
func available(p *corev1.Pod, minReadySeconds int32, now time.Time) (bool, time.Duration) {
	since := readySince(p)
	if since == nil {
		return false, 0
	}
	if minReadySeconds == 0 {
		return true, 0
	}
	if since.IsZero() {
		return false, 0
	}
	left := since.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
	if left <= 0 {
		return true, 0
	}
	return false, left
}
