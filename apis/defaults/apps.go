package defaults

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// revisionHistoryLimit is how many old revisions apps/v1 workloads keep when
// spec.revisionHistoryLimit is unset.
const revisionHistoryLimit int32 = 10

// Deployment defaults an apps/v1 deployment: replicas 1, strategy
// RollingUpdate, and for a RollingUpdate strategy maxUnavailable and maxSurge
// 25%; revisionHistoryLimit 10, progressDeadlineSeconds 600, and the pod
// template as in PodTemplateSpec. Unlike extensions/v1beta1, apps/v1 never
// fills the selector or the object's labels from the template.
func Deployment(d *appsv1.Deployment) {
	spec := &d.Spec
	setIfNil(&spec.Replicas, int32(1))
	setIfEmpty(&spec.Strategy.Type, appsv1.RollingUpdateDeploymentStrategyType)
	if spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		setIfNil(&spec.Strategy.RollingUpdate, appsv1.RollingUpdateDeployment{})
		setIfNil(&spec.Strategy.RollingUpdate.MaxUnavailable, intstr.FromString("25%"))
		setIfNil(&spec.Strategy.RollingUpdate.MaxSurge, intstr.FromString("25%"))
	}
	setIfNil(&spec.RevisionHistoryLimit, revisionHistoryLimit)
	setIfNil(&spec.ProgressDeadlineSeconds, int32(600))
	PodTemplateSpec(&spec.Template)
}

// ReplicaSet defaults an apps/v1 replica set: replicas 1 and the pod template
// as in PodTemplateSpec.
func ReplicaSet(rs *appsv1.ReplicaSet) {
	setIfNil(&rs.Spec.Replicas, int32(1))
	PodTemplateSpec(&rs.Spec.Template)
}

// DaemonSet defaults an apps/v1 daemon set: updateStrategy RollingUpdate, and
// for a RollingUpdate strategy maxUnavailable 1 and maxSurge 0;
// revisionHistoryLimit 10 and the pod template as in PodTemplateSpec.
func DaemonSet(ds *appsv1.DaemonSet) {
	spec := &ds.Spec
	setIfEmpty(&spec.UpdateStrategy.Type, appsv1.RollingUpdateDaemonSetStrategyType)
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		setIfNil(&spec.UpdateStrategy.RollingUpdate, appsv1.RollingUpdateDaemonSet{})
		setIfNil(&spec.UpdateStrategy.RollingUpdate.MaxUnavailable, intstr.FromInt32(1))
		setIfNil(&spec.UpdateStrategy.RollingUpdate.MaxSurge, intstr.FromInt32(0))
	}
	setIfNil(&spec.RevisionHistoryLimit, revisionHistoryLimit)
	PodTemplateSpec(&spec.Template)
}

// StatefulSet defaults an apps/v1 stateful set:
//   - podManagementPolicy OrderedReady;
//   - an unset updateStrategy becomes RollingUpdate with an empty
//     rollingUpdate; an explicit RollingUpdate type keeps a nil rollingUpdate;
//   - a present rollingUpdate of a RollingUpdate strategy gets partition 0
//     and maxUnavailable 1 (MaxUnavailableStatefulSet, beta and on in 1.37);
//   - persistentVolumeClaimRetentionPolicy Retain when deleted and scaled;
//   - replicas 1 and revisionHistoryLimit 10;
//   - the pod template as in PodTemplateSpec and each volume claim template
//     as in PersistentVolumeClaim.
func StatefulSet(ss *appsv1.StatefulSet) {
	spec := &ss.Spec
	setIfEmpty(&spec.PodManagementPolicy, appsv1.OrderedReadyPodManagement)

	strategy := &spec.UpdateStrategy
	if strategy.Type == "" {
		strategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		setIfNil(&strategy.RollingUpdate, appsv1.RollingUpdateStatefulSetStrategy{})
	}
	if strategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && strategy.RollingUpdate != nil {
		setIfNil(&strategy.RollingUpdate.Partition, int32(0))
		setIfNil(&strategy.RollingUpdate.MaxUnavailable, intstr.FromInt32(1))
	}

	setIfNil(&spec.PersistentVolumeClaimRetentionPolicy, appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{})
	setIfEmpty(&spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
	setIfEmpty(&spec.PersistentVolumeClaimRetentionPolicy.WhenScaled, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)

	setIfNil(&spec.Replicas, int32(1))
	setIfNil(&spec.RevisionHistoryLimit, revisionHistoryLimit)

	PodTemplateSpec(&spec.Template)
	eachItem(spec.VolumeClaimTemplates, PersistentVolumeClaim)
}
