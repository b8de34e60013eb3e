package validation

import (
	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Deployment validates a Deployment on create: a non-empty selector that
// matches the template labels, an Always-restarting template, a valid
// strategy and non-negative counts.
func Deployment(d *appsv1.Deployment) field.ErrorList {
	errs := objectMeta(&d.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, deploymentSpec(&d.Spec, field.NewPath("spec"))...)
}

// DeploymentUpdate validates a Deployment update; the selector is immutable.
func DeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := objectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, deploymentSpec(&d.Spec, field.NewPath("spec"))...)
	return append(errs, immutable(d.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
}

// DeploymentStatusUpdate validates a write to a Deployment's status.
func DeploymentStatusUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := objectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	st, p := d.Status, field.NewPath("status")
	errs = append(errs, nonNegativeCounts(p,
		count{"observedGeneration", st.ObservedGeneration},
		count{"replicas", int64(st.Replicas)},
		count{"updatedReplicas", int64(st.UpdatedReplicas)},
		count{"readyReplicas", int64(st.ReadyReplicas)},
		count{"availableReplicas", int64(st.AvailableReplicas)},
		count{"unavailableReplicas", int64(st.UnavailableReplicas)})...)
	errs = append(errs, optNonNegative(st.TerminatingReplicas, p.Child("terminatingReplicas"))...)
	errs = append(errs, optNonNegative(st.CollisionCount, p.Child("collisionCount"))...)
	errs = append(errs, notAbove(st.UpdatedReplicas, st.Replicas, notAboveReplicasMsg, p.Child("updatedReplicas"))...)
	errs = append(errs, notAbove(st.ReadyReplicas, st.Replicas, notAboveReplicasMsg, p.Child("readyReplicas"))...)
	errs = append(errs, notAbove(st.AvailableReplicas, st.Replicas, notAboveReplicasMsg, p.Child("availableReplicas"))...)
	errs = append(errs, notAbove(st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than readyReplicas", p.Child("availableReplicas"))...)
	return append(errs, collisionCountUpdate(st.CollisionCount, old.Status.CollisionCount, p.Child("collisionCount"))...)
}

// deploymentSpec validates a Deployment spec.
func deploymentSpec(spec *appsv1.DeploymentSpec, fldPath *field.Path) field.ErrorList {
	errs := nonNegative(int64(deref32(spec.Replicas)), fldPath.Child("replicas"))
	sel, sErrs := workloadSelector(spec.Selector, "deployment", fldPath.Child("selector"))
	errs = append(errs, sErrs...)
	if sel != nil {
		errs = append(errs, alwaysRestartTemplate(&spec.Template, sel, "ReplicaSet", fldPath.Child("template"))...)
	}
	errs = append(errs, deploymentStrategy(&spec.Strategy, fldPath.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	errs = append(errs, optNonNegative(spec.RevisionHistoryLimit, fldPath.Child("revisionHistoryLimit"))...)
	if pds := spec.ProgressDeadlineSeconds; pds != nil {
		errs = append(errs, nonNegative(int64(*pds), fldPath.Child("progressDeadlineSeconds"))...)
		if *pds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(fldPath.Child("progressDeadlineSeconds"), pds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// deploymentStrategy validates the rollout strategy: Recreate has no
// rollingUpdate; RollingUpdate needs one whose maxUnavailable and maxSurge
// are not both zero.
func deploymentStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
		return nil
	case appsv1.RollingUpdateDeploymentStrategyType:
		ru := s.RollingUpdate
		p := fldPath.Child("rollingUpdate")
		if ru == nil {
			return field.ErrorList{field.Required(p, "this should be defaulted and never be nil")}
		}
		errs := intOrPercent(ru.MaxUnavailable, p.Child("maxUnavailable"))
		errs = append(errs, intOrPercent(ru.MaxSurge, p.Child("maxSurge"))...)
		if intOrPercentValue(ru.MaxUnavailable) == 0 && intOrPercentValue(ru.MaxSurge) == 0 {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), ru.MaxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		return append(errs, notAbove100Percent(ru.MaxUnavailable, p.Child("maxUnavailable"))...)
	}
	return field.ErrorList{field.NotSupported(fldPath, *s, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
}

// ReplicaSet validates a ReplicaSet on create.
func ReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	errs := objectMeta(&rs.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, replicaSetSpec(&rs.Spec, field.NewPath("spec"))...)
}

// ReplicaSetUpdate validates a ReplicaSet update; the selector is immutable.
func ReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := objectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, replicaSetSpec(&rs.Spec, field.NewPath("spec"))...)
	return append(errs, immutable(rs.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
}

// ReplicaSetStatusUpdate validates a write to a ReplicaSet's status.
func ReplicaSetStatusUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := objectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta)
	st, p := rs.Status, field.NewPath("status")
	errs = append(errs, nonNegativeCounts(p,
		count{"replicas", int64(st.Replicas)},
		count{"fullyLabeledReplicas", int64(st.FullyLabeledReplicas)},
		count{"readyReplicas", int64(st.ReadyReplicas)},
		count{"availableReplicas", int64(st.AvailableReplicas)},
		count{"observedGeneration", st.ObservedGeneration})...)
	errs = append(errs, optNonNegative(st.TerminatingReplicas, p.Child("terminatingReplicas"))...)
	errs = append(errs, notAbove(st.FullyLabeledReplicas, st.Replicas, notAboveReplicasMsg, p.Child("fullyLabeledReplicas"))...)
	errs = append(errs, notAbove(st.ReadyReplicas, st.Replicas, notAboveReplicasMsg, p.Child("readyReplicas"))...)
	errs = append(errs, notAbove(st.AvailableReplicas, st.Replicas, notAboveReplicasMsg, p.Child("availableReplicas"))...)
	return append(errs, notAbove(st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than readyReplicas", p.Child("availableReplicas"))...)
}

// replicaSetSpec validates a ReplicaSet spec. The empty-selector message
// says "deployment", as upstream's does.
func replicaSetSpec(spec *appsv1.ReplicaSetSpec, fldPath *field.Path) field.ErrorList {
	errs := nonNegative(int64(deref32(spec.Replicas)), fldPath.Child("replicas"))
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	sel, sErrs := workloadSelector(spec.Selector, "deployment", fldPath.Child("selector"))
	errs = append(errs, sErrs...)
	if sel != nil {
		errs = append(errs, alwaysRestartTemplate(&spec.Template, sel, "ReplicaSet", fldPath.Child("template"))...)
	}
	return errs
}
