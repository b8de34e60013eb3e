package validation

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Messages shared by the workload kinds (apps, batch).
const (
	notAboveReplicasMsg = "cannot be greater than status.replicas"
	selectorMismatchMsg = "`selector` does not match template `labels`"
	decrementedMsg      = "cannot be decremented"
)

// workloadSelector checks a workload's selector: present, a valid label
// selector, and not empty. kind names the workload in the upstream message
// ("deployment", "statefulset", ...). It returns the parsed selector, or
// nil when the selector cannot be parsed.
func workloadSelector(sel *metav1.LabelSelector, kind string, fldPath *field.Path) (labels.Selector, field.ErrorList) {
	var errs field.ErrorList
	if sel == nil {
		errs = append(errs, field.Required(fldPath, ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(fldPath, sel, "empty selector is invalid for "+kind))
		}
	}
	parsed, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, append(errs, field.Invalid(fldPath, sel, "invalid label selector"))
	}
	return parsed, errs
}

// alwaysRestartTemplate validates the pod template of a long-running
// workload: it matches the selector, is a valid template, restarts Always
// and has no activeDeadlineSeconds. kind names the workload in messages.
func alwaysRestartTemplate(t *corev1.PodTemplateSpec, sel labels.Selector, kind string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sel != nil && !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(fldPath.Child("metadata", "labels"), t.Labels, selectorMismatchMsg))
	}
	errs = append(errs, PodTemplateSpec(t, fldPath)...)
	return append(errs, restartAlways(&t.Spec, kind, fldPath.Child("spec"))...)
}

// restartAlways requires restartPolicy Always and no activeDeadlineSeconds.
func restartAlways(spec *corev1.PodSpec, kind string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fldPath.Child("restartPolicy"), spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("activeDeadlineSeconds"), "activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

// intOrPercentValue reads an optional int-or-percent the way the internal
// API sees it: nil is 0, "25%" is 25.
func intOrPercentValue(v *intstr.IntOrString) int {
	if v == nil {
		return 0
	}
	if n, ok := percentValue(*v); ok {
		return n
	}
	return v.IntValue()
}

// percentValue returns the number in a valid percentage string.
func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(utilvalidation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

// intOrPercent checks a non-negative integer or a percentage string.
func intOrPercent(v *intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	switch v.Type {
	case intstr.String:
		return msgs(fldPath, *v, utilvalidation.IsValidPercent(v.StrVal))
	case intstr.Int:
		return nonNegative(int64(v.IntValue()), fldPath)
	}
	return field.ErrorList{field.Invalid(fldPath, *v, "must be an integer or percentage (e.g '5%%')")}
}

// notAbove100Percent rejects a percentage above 100%.
func notAbove100Percent(v *intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if n, ok := percentValue(*v); ok && n > 100 {
		return field.ErrorList{field.Invalid(fldPath, *v, "must not be greater than 100%")}
	}
	return nil
}

// optNonNegative checks an optional count is not negative.
func optNonNegative[T int32 | int64](v *T, fldPath *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return nonNegative(int64(*v), fldPath)
}

// deref32 reads an optional int32 as the internal API does (nil is 0).
func deref32(v *int32) int32 {
	if v == nil {
		return 0
	}
	return *v
}

// collisionCountUpdate forbids lowering status.collisionCount.
func collisionCountUpdate(v, old *int32, fldPath *field.Path) field.ErrorList {
	if old == nil {
		return nil
	}
	if v == nil || *v < *old {
		return field.ErrorList{field.Invalid(fldPath, deref32(v), decrementedMsg)}
	}
	return nil
}

// count is a named status counter.
type count struct {
	name  string
	value int64
}

// nonNegativeCounts checks each counter in order is not negative.
func nonNegativeCounts(fldPath *field.Path, counts ...count) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counts {
		errs = append(errs, nonNegative(c.value, fldPath.Child(c.name))...)
	}
	return errs
}

// notAbove reports value at fldPath when it exceeds limit.
func notAbove(value, limit int32, msg string, fldPath *field.Path) field.ErrorList {
	if value > limit {
		return field.ErrorList{field.Invalid(fldPath, value, msg)}
	}
	return nil
}
