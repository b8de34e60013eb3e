package replicaset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// set is the controller's view of one ReplicaSet or ReplicationController:
// the fields that decide its pods, whichever kind it is.
type set struct {
	// object is the cached object the view was taken from (never modified).
	object   runtime.Object
	meta     *metav1.ObjectMeta
	replicas int32
	// selector is nil when the object's selector is invalid.
	selector        labels.Selector
	template        *corev1.PodTemplateSpec
	minReadySeconds int32
	status          status
}

// status is the part of the status the controller computes, common to both
// kinds. terminating is reported only for ReplicaSets, as upstream.
type status struct {
	replicas, fullyLabeled, ready, available int32
	terminating                              *int32
	observedGeneration                       int64
	// failure is the ReplicaFailure condition, or nil.
	failure *condition
}

// condition is a ReplicaFailure condition of either kind.
type condition struct {
	reason, message string
	since           metav1.Time
}

// kind adapts one API kind to the controller: where its objects are read
// from and how their status is written.
type kind interface {
	gvk() schema.GroupVersionKind
	informer() cache.SharedIndexInformer
	// get returns the cached object ns/name as a set.
	get(ns, name string) (*set, error)
	// list returns the cached objects of namespace ns.
	list(ns string) ([]*set, error)
	// fresh reads ns/name from the server.
	fresh(ctx context.Context, ns, name string) (*set, error)
	// writeStatus stores st as the status of s.
	writeStatus(ctx context.Context, s *set, st status) error
}

// replicaSets is the apps/v1 ReplicaSet kind.
type replicaSets struct {
	client kubernetes.Interface
	shared appsinformers.ReplicaSetInformer
}

func (k replicaSets) gvk() schema.GroupVersionKind {
	return appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
}
func (k replicaSets) informer() cache.SharedIndexInformer { return k.shared.Informer() }

func (k replicaSets) get(ns, name string) (*set, error) {
	rs, err := k.shared.Lister().ReplicaSets(ns).Get(name)
	if err != nil {
		return nil, err
	}
	return fromReplicaSet(rs), nil
}

func (k replicaSets) list(ns string) ([]*set, error) {
	all, err := k.shared.Lister().ReplicaSets(ns).List(labels.Everything())
	out := make([]*set, 0, len(all))
	for _, rs := range all {
		out = append(out, fromReplicaSet(rs))
	}
	return out, err
}

func (k replicaSets) fresh(ctx context.Context, ns, name string) (*set, error) {
	rs, err := k.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return fromReplicaSet(rs), nil
}

func (k replicaSets) writeStatus(ctx context.Context, s *set, st status) error {
	rs := s.object.(*appsv1.ReplicaSet).DeepCopy()
	rs.Status.Replicas, rs.Status.FullyLabeledReplicas = st.replicas, st.fullyLabeled
	rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = st.ready, st.available
	rs.Status.TerminatingReplicas, rs.Status.ObservedGeneration = st.terminating, st.observedGeneration
	rs.Status.Conditions = withoutType(rs.Status.Conditions, func(c appsv1.ReplicaSetCondition) bool {
		return c.Type == appsv1.ReplicaSetReplicaFailure
	})
	if f := st.failure; f != nil {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure,
			Status: corev1.ConditionTrue, Reason: f.reason, Message: f.message, LastTransitionTime: f.since})
	}
	if equality.Semantic.DeepEqual(rs.Status, s.object.(*appsv1.ReplicaSet).Status) {
		return nil
	}
	if _, err := k.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update status of replica set %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return nil
}

func fromReplicaSet(rs *appsv1.ReplicaSet) *set {
	s := &set{object: rs, meta: &rs.ObjectMeta, replicas: replicas(rs.Spec.Replicas), template: &rs.Spec.Template,
		minReadySeconds: rs.Spec.MinReadySeconds}
	if sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector); err == nil && !sel.Empty() {
		s.selector = sel
	}
	st := rs.Status
	s.status = status{replicas: st.Replicas, fullyLabeled: st.FullyLabeledReplicas, ready: st.ReadyReplicas,
		available: st.AvailableReplicas, terminating: st.TerminatingReplicas, observedGeneration: st.ObservedGeneration}
	for _, c := range st.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			s.status.failure = &condition{reason: c.Reason, message: c.Message, since: c.LastTransitionTime}
		}
	}
	return s
}

// replicationControllers is the core/v1 ReplicationController kind.
type replicationControllers struct {
	client kubernetes.Interface
	shared coreinformers.ReplicationControllerInformer
}

func (k replicationControllers) gvk() schema.GroupVersionKind {
	return corev1.SchemeGroupVersion.WithKind("ReplicationController")
}
func (k replicationControllers) informer() cache.SharedIndexInformer { return k.shared.Informer() }

func (k replicationControllers) get(ns, name string) (*set, error) {
	rc, err := k.shared.Lister().ReplicationControllers(ns).Get(name)
	if err != nil {
		return nil, err
	}
	return fromReplicationController(rc), nil
}

func (k replicationControllers) list(ns string) ([]*set, error) {
	all, err := k.shared.Lister().ReplicationControllers(ns).List(labels.Everything())
	out := make([]*set, 0, len(all))
	for _, rc := range all {
		out = append(out, fromReplicationController(rc))
	}
	return out, err
}

func (k replicationControllers) fresh(ctx context.Context, ns, name string) (*set, error) {
	rc, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return fromReplicationController(rc), nil
}

func (k replicationControllers) writeStatus(ctx context.Context, s *set, st status) error {
	rc := s.object.(*corev1.ReplicationController).DeepCopy()
	rc.Status.Replicas, rc.Status.FullyLabeledReplicas = st.replicas, st.fullyLabeled
	rc.Status.ReadyReplicas, rc.Status.AvailableReplicas = st.ready, st.available
	rc.Status.ObservedGeneration = st.observedGeneration
	rc.Status.Conditions = withoutType(rc.Status.Conditions, func(c corev1.ReplicationControllerCondition) bool {
		return c.Type == corev1.ReplicationControllerReplicaFailure
	})
	if f := st.failure; f != nil {
		rc.Status.Conditions = append(rc.Status.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerReplicaFailure, Status: corev1.ConditionTrue,
			Reason: f.reason, Message: f.message, LastTransitionTime: f.since})
	}
	if equality.Semantic.DeepEqual(rc.Status, s.object.(*corev1.ReplicationController).Status) {
		return nil
	}
	if _, err := k.client.CoreV1().ReplicationControllers(rc.Namespace).UpdateStatus(ctx, rc, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update status of replication controller %s/%s: %w", rc.Namespace, rc.Name, err)
	}
	return nil
}

func fromReplicationController(rc *corev1.ReplicationController) *set {
	s := &set{object: rc, meta: &rc.ObjectMeta, replicas: replicas(rc.Spec.Replicas), template: rc.Spec.Template,
		minReadySeconds: rc.Spec.MinReadySeconds}
	if len(rc.Spec.Selector) > 0 {
		s.selector = labels.SelectorFromValidatedSet(rc.Spec.Selector)
	}
	st := rc.Status
	s.status = status{replicas: st.Replicas, fullyLabeled: st.FullyLabeledReplicas, ready: st.ReadyReplicas,
		available: st.AvailableReplicas, observedGeneration: st.ObservedGeneration}
	for _, c := range st.Conditions {
		if c.Type == corev1.ReplicationControllerReplicaFailure && c.Status == corev1.ConditionTrue {
			s.status.failure = &condition{reason: c.Reason, message: c.Message, since: c.LastTransitionTime}
		}
	}
	return s
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func withoutType[C any](conds []C, drop func(C) bool) []C {
	var out []C
	for _, c := range conds {
		if !drop(c) {
			out = append(out, c)
		}
	}
	return out
}
