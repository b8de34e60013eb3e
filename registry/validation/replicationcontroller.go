package validation

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ReplicationController validates a ReplicationController on create: a
// non-empty selector that matches the template labels, non-negative
// replicas and minReadySeconds, and a template with restartPolicy Always
// and no activeDeadlineSeconds.
func ReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	errs := objectMeta(&rc.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, rcSpec(&rc.Spec, field.NewPath("spec"))...)
}

// ReplicationControllerUpdate validates a ReplicationController update.
func ReplicationControllerUpdate(rc, old *corev1.ReplicationController) field.ErrorList {
	errs := objectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta)
	return append(errs, rcSpec(&rc.Spec, field.NewPath("spec"))...)
}

// ReplicationControllerStatusUpdate validates a write to the status: counts
// are non-negative and no larger than status.replicas.
func ReplicationControllerStatusUpdate(rc, old *corev1.ReplicationController) field.ErrorList {
	errs := objectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta)
	st := rc.Status
	p := field.NewPath("status")
	errs = append(errs, nonNegative(int64(st.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(st.FullyLabeledReplicas), p.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNegative(int64(st.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(st.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(st.ObservedGeneration, p.Child("observedGeneration"))...)
	const msg = "cannot be greater than status.replicas"
	if st.FullyLabeledReplicas > st.Replicas {
		errs = append(errs, field.Invalid(p.Child("fullyLabeledReplicas"), st.FullyLabeledReplicas, msg))
	}
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), st.ReadyReplicas, msg))
	}
	if st.AvailableReplicas > st.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), st.AvailableReplicas, msg))
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

// rcSpec validates a ReplicationController spec.
func rcSpec(spec *corev1.ReplicationControllerSpec, fldPath *field.Path) field.ErrorList {
	errs := nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))
	sel := labels.Set(spec.Selector).AsSelector()
	if sel.Empty() {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	}
	if spec.Replicas == nil {
		errs = append(errs, field.Required(fldPath.Child("replicas"), ""))
	} else {
		errs = append(errs, nonNegative(int64(*spec.Replicas), fldPath.Child("replicas"))...)
	}
	tp := fldPath.Child("template")
	t := spec.Template
	if t == nil {
		return append(errs, field.Required(tp, ""))
	}
	if !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, PodTemplateSpec(t, tp)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}
