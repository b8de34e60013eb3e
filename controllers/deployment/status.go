package deployment

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Reasons of the Deployment conditions, as upstream: ReplicaSetUpdated,
// NewReplicaSetCreated, ReplicaSetCreateError, FoundNewReplicaSet,
// NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused and
// DeploymentResumed for Progressing; MinimumReplicasAvailable and
// MinimumReplicasUnavailable for Available.
const (
	ReasonReplicaSetUpdated   = "ReplicaSetUpdated"
	ReasonNewReplicaSet       = "NewReplicaSetCreated"
	ReasonCreateError         = "ReplicaSetCreateError"
	ReasonFoundNewReplicaSet  = "FoundNewReplicaSet"
	ReasonNewRSAvailable      = "NewReplicaSetAvailable"
	ReasonTimedOut            = "ProgressDeadlineExceeded"
	ReasonPaused              = "DeploymentPaused"
	ReasonResumed             = "DeploymentResumed"
	ReasonMinimumAvailable    = "MinimumReplicasAvailable"
	ReasonMinimumNotAvailable = "MinimumReplicasUnavailable"
)

const (
	// progressDeadlineUnlimited is the progressDeadlineSeconds that means
	// no deadline.
	progressDeadlineUnlimited = math.MaxInt32
	// deadlineSlack is added to the wait for a progress deadline, so the
	// recheck lands after it.
	deadlineSlack = time.Second
)

// writeStatus computes the Deployment's status from its ReplicaSets and
// writes it if it changed. With progress, the sync rolled out, so the
// Progressing condition is brought up to date too (complete, progressing,
// or past progressDeadlineSeconds); the Deployment is synced again when
// its deadline passes.
func (c *Controller) writeStatus(ctx context.Context, r *rollout, progress bool) error {
	d := r.d
	now := metav1.NewTime(c.clock.Now())
	st := counts(d, r.newRS, r.all())
	st.Conditions = slices.Clone(d.Status.Conditions)

	_, unavailable := limits(d)
	if st.AvailableReplicas >= desired(d)-unavailable {
		setCondition(&st, condition(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumAvailable, "Deployment has minimum availability.", now))
	} else {
		setCondition(&st, condition(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumNotAvailable, "Deployment does not have minimum availability.", now))
	}

	deadline := d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != progressDeadlineUnlimited
	cur := getCondition(st, appsv1.DeploymentProgressing)
	switch {
	case d.Spec.Paused && (cur == nil || cur.Reason != ReasonPaused):
		setCondition(&st, condition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused", now))
	case !d.Spec.Paused && cur != nil && cur.Reason == ReasonPaused:
		setCondition(&st, condition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, "Deployment is resumed", now))
	}
	if deadline && r.newRS != nil {
		switch {
		case r.created:
			setCondition(&st, condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSet,
				fmt.Sprintf("Created new replica set %q", r.newRS.Name), now))
		case getCondition(st, appsv1.DeploymentProgressing) == nil:
			setCondition(&st, condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewReplicaSet,
				fmt.Sprintf("Found new replica set %q", r.newRS.Name), now))
		}
	}
	var recheck time.Duration
	if !deadline {
		st.Conditions = slices.DeleteFunc(st.Conditions, func(c appsv1.DeploymentCondition) bool { return c.Type == appsv1.DeploymentProgressing })
	} else if progress && !d.Spec.Paused {
		recheck = progressing(d, &st, r.newRS, now)
	}

	st.Conditions = slices.DeleteFunc(st.Conditions, func(c appsv1.DeploymentCondition) bool { return c.Type == appsv1.DeploymentReplicaFailure })
	for _, rs := range append([]*appsv1.ReplicaSet{r.newRS}, r.old...) {
		if rs == nil {
			continue
		}
		if i := slices.IndexFunc(rs.Status.Conditions, func(c appsv1.ReplicaSetCondition) bool {
			return c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue
		}); i >= 0 {
			f := rs.Status.Conditions[i]
			setCondition(&st, condition(appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, f.Reason, f.Message, now))
			break
		}
	}

	if recheck > 0 {
		c.loop.AddAfter(d.Namespace+"/"+d.Name, recheck)
	}
	if equality.Semantic.DeepEqual(d.Status, st) {
		return nil
	}
	updated := d.DeepCopy()
	updated.Status = st
	if _, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update status of deployment %s: %w", klog.KObj(d), err)
	}
	return nil
}

// counts computes the replica counts of a Deployment's status.
func counts(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet) appsv1.DeploymentStatus {
	st := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, CollisionCount: d.Status.CollisionCount}
	var spec int32
	for _, rs := range all {
		spec += replicas(rs.Spec.Replicas)
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
		if t := rs.Status.TerminatingReplicas; t != nil {
			st.TerminatingReplicas = ptr.To(ptr.Deref(st.TerminatingReplicas, 0) + *t)
		}
	}
	if newRS != nil {
		st.UpdatedReplicas = newRS.Status.Replicas
	}
	st.UnavailableReplicas = max(0, spec-st.AvailableReplicas)
	return st
}

// progressing updates the Progressing condition of a rolling-out
// Deployment and returns when to look again for the deadline (zero: no need).
func progressing(d *appsv1.Deployment, st *appsv1.DeploymentStatus, newRS *appsv1.ReplicaSet, now metav1.Time) time.Duration {
	cur := getCondition(*st, appsv1.DeploymentProgressing)
	if st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewRSAvailable {
		return 0 // finished earlier
	}
	name := fmt.Sprintf("Deployment %q", d.Name)
	if newRS != nil {
		name = fmt.Sprintf("ReplicaSet %q", newRS.Name)
	}
	old := d.Status
	switch {
	case st.UpdatedReplicas == desired(d) && st.Replicas == desired(d) && st.AvailableReplicas == desired(d) &&
		st.ObservedGeneration >= d.Generation:
		setCondition(st, condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable, name+" has successfully progressed.", now))
		return 0
	case st.UpdatedReplicas > old.UpdatedReplicas || st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas || st.AvailableReplicas > old.AvailableReplicas:
		next := condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated, name+" is progressing.", now)
		if cur != nil && cur.Status == corev1.ConditionTrue {
			next.LastTransitionTime = cur.LastTransitionTime
		}
		st.Conditions = slices.DeleteFunc(st.Conditions, func(c appsv1.DeploymentCondition) bool { return c.Type == appsv1.DeploymentProgressing })
		st.Conditions = append(st.Conditions, next)
		cur = &next
	}
	if cur == nil || cur.Reason == ReasonTimedOut {
		return 0
	}
	left := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(now.Time)
	if left < 0 {
		setCondition(st, condition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut, name+" has timed out progressing.", now))
		return 0
	}
	return left + deadlineSlack
}

func condition(t appsv1.DeploymentConditionType, s corev1.ConditionStatus, reason, msg string, now metav1.Time) appsv1.DeploymentCondition {
	return appsv1.DeploymentCondition{Type: t, Status: s, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
}

func getCondition(st appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			c := st.Conditions[i]
			return &c
		}
	}
	return nil
}

// setCondition puts c in st: a condition with the same status and reason
// stays as it is; one with the same status keeps its transition time.
func setCondition(st *appsv1.DeploymentStatus, c appsv1.DeploymentCondition) {
	if cur := getCondition(*st, c.Type); cur != nil {
		if cur.Status == c.Status && cur.Reason == c.Reason {
			return
		}
		if cur.Status == c.Status {
			c.LastTransitionTime = cur.LastTransitionTime
		}
	}
	st.Conditions = slices.DeleteFunc(st.Conditions, func(x appsv1.DeploymentCondition) bool { return x.Type == c.Type })
	st.Conditions = append(st.Conditions, c)
}
