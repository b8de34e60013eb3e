package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// maxMessageLength is the longest event note the API accepts (upstream
// truncates FailedScheduling messages to it).
const maxMessageLength = 1024

// scheduleOne runs one scheduling cycle for qp: pick a node, count the pod
// there at once, and bind in the background; or record why no node fits.
func (s *Scheduler) scheduleOne(ctx context.Context, qp *queuedPod) {
	logger := klog.FromContext(ctx)
	pod := qp.pod
	if pod.DeletionTimestamp != nil {
		s.queue.done(qp)
		return
	}
	start := s.clock.Now()
	snap := s.cache.snapshot()
	node, state, err := s.algo.schedule(ctx, snap, pod)
	if err != nil {
		var fit *fitError
		if errors.As(err, &fit) {
			s.preempt(ctx, state, pod, fit)
		}
		s.failed(ctx, qp, err)
		return
	}
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = node
	s.cache.assume(assumed)
	for _, pl := range s.algo.profile.reserve {
		if st := pl.Reserve(ctx, state, pod, node); !st.IsSuccess() {
			s.unreserve(ctx, state, assumed)
			s.failed(ctx, qp, fmt.Errorf("running Reserve plugin %q: %w", pl.Name(), st.AsError()))
			return
		}
	}
	logger.V(4).Info("Pod placed, binding", "pod", klog.KObj(pod), "node", node, "took", s.clock.Since(start))
	s.binding.Go(func() { s.bind(ctx, qp, state, assumed) })
}

// unreserve undoes the Reserve plugins, in reverse order, and forgets the
// assumed pod.
func (s *Scheduler) unreserve(ctx context.Context, state *framework.CycleState, assumed *corev1.Pod) {
	plugins := s.algo.profile.reserve
	for i := len(plugins) - 1; i >= 0; i-- {
		plugins[i].Unreserve(ctx, state, assumed, assumed.Spec.NodeName)
	}
	s.cache.forget(assumed)
}

// bind runs the PreBind plugins, then posts the pod's binding. On failure
// the pod is no longer counted on the node and goes back to the queue with
// backoff.
func (s *Scheduler) bind(ctx context.Context, qp *queuedPod, state *framework.CycleState, assumed *corev1.Pod) {
	logger := klog.FromContext(ctx)
	node := assumed.Spec.NodeName
	for _, pl := range s.algo.profile.preBind {
		if st := pl.PreBind(ctx, state, assumed, node); !st.IsSuccess() {
			s.unreserve(ctx, state, assumed)
			if s.boundOrGone(assumed) {
				s.queue.done(qp)
				return
			}
			s.failed(ctx, qp, fmt.Errorf("running PreBind plugin %q: %w", pl.Name(), st.AsError()))
			return
		}
	}
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: assumed.Namespace, Name: assumed.Name, UID: assumed.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	// At most BindParallelism binding requests are under way at once.
	var err error
	select {
	case s.binds <- struct{}{}:
		err = s.client.CoreV1().Pods(assumed.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
		<-s.binds
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	if err != nil {
		s.unreserve(ctx, state, assumed)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) && s.boundOrGone(assumed) {
			// Deleted, or bound by someone else meanwhile: nothing to do.
			s.queue.done(qp)
			return
		}
		s.failed(ctx, qp, fmt.Errorf("binding rejected: %w", err))
		return
	}
	s.queue.done(qp)
	logger.V(2).Info("Successfully bound pod to node", "pod", klog.KObj(assumed), "node", node)
	s.events.Eventf(assumed, nil, corev1.EventTypeNormal, "Scheduled", "Binding",
		"Successfully assigned %s/%s to %s", assumed.Namespace, assumed.Name, node)
}

// boundOrGone reports whether the informer's copy of pod is gone or
// already has a node.
func (s *Scheduler) boundOrGone(pod *corev1.Pod) bool {
	cur, err := s.pods.Pods(pod.Namespace).Get(pod.Name)
	return err != nil || cur.UID != pod.UID || cur.Spec.NodeName != ""
}

// failed records a failed cycle: a FailedScheduling event and the
// PodScheduled condition (reason Unschedulable when no node fits,
// SchedulerError otherwise) with the message, and the pod back in the
// queue.
func (s *Scheduler) failed(ctx context.Context, qp *queuedPod, err error) {
	logger := klog.FromContext(ctx)
	pod := qp.pod
	reason := corev1.PodReasonSchedulerError
	var fit *fitError
	var rejectedBy sets.Set[string]
	var nominate *string
	switch {
	case errors.As(err, &fit):
		reason = corev1.PodReasonUnschedulable
		rejectedBy = fit.rejectedBy()
		nominate = fit.nominate
		logger.V(2).Info("Unable to schedule pod; no fit; waiting", "pod", klog.KObj(pod), "err", err.Error())
	case errors.Is(err, errNoNodes):
		reason = corev1.PodReasonUnschedulable
		rejectedBy = sets.New[string]()
		logger.V(2).Info("Unable to schedule pod; no nodes are registered to the cluster; waiting", "pod", klog.KObj(pod))
	default:
		logger.Error(err, "Error scheduling pod; retrying", "pod", klog.KObj(pod))
	}
	cur, getErr := s.pods.Pods(pod.Namespace).Get(pod.Name)
	if getErr != nil || cur.UID != pod.UID || cur.Spec.NodeName != "" {
		s.queue.done(qp)
		return
	}
	s.queue.requeue(qp, rejectedBy, rejectedBy == nil)
	msg := err.Error()
	if len(msg) > maxMessageLength {
		msg = msg[:maxMessageLength-4] + " ..."
	}
	s.events.Eventf(cur, nil, corev1.EventTypeWarning, "FailedScheduling", "Scheduling", "%s", msg)
	if err := s.setUnschedulable(ctx, cur, reason, err.Error(), nominate); err != nil {
		logger.Error(err, "Error updating pod", "pod", klog.KObj(pod))
	}
}

// setUnschedulable sets the pod's PodScheduled condition to False with
// reason and message, and nominatedNodeName as nominate says (nil: leave
// it; "": clear it), unless they are already so.
func (s *Scheduler) setUnschedulable(ctx context.Context, pod *corev1.Pod, reason, message string, nominate *string) error {
	cond := corev1.PodCondition{
		Type:               corev1.PodScheduled,
		ObservedGeneration: pod.Generation,
		Status:             corev1.ConditionFalse,
		Reason:             reason,
		Message:            message,
		LastTransitionTime: metav1.NewTime(s.now().Truncate(time.Second)),
		LastProbeTime:      metav1.Time{},
	}
	status := &pod.Status
	changed := nominate != nil && status.NominatedNodeName != *nominate
	found := false
	for _, c := range status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		found = true
		if c.Status != cond.Status || c.Reason != cond.Reason || c.Message != cond.Message || c.ObservedGeneration != cond.ObservedGeneration {
			changed = true
		}
		if c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	changed = changed || !found
	if !changed {
		return nil
	}
	// A strategic merge patch (conditions merge by type) needs no
	// resourceVersion, so it cannot conflict with the pod's other writers.
	patch := map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{cond}}}
	switch {
	case nominate == nil || *nominate == status.NominatedNodeName:
	case *nominate == "":
		patch["status"].(map[string]any)["nominatedNodeName"] = nil
	default:
		patch["status"].(map[string]any)["nominatedNodeName"] = *nominate
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
