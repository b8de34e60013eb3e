package validation

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// labelSet adapts a label map for selector matching.
func labelSet(m map[string]string) labels.Set { return labels.Set(m) }

// DaemonSet validates a DaemonSet on create.
func DaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	errs := objectMeta(&ds.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, daemonSetSpec(&ds.Spec, field.NewPath("spec"))...)
}

// DaemonSetUpdate validates a DaemonSet update; the selector is immutable.
func DaemonSetUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := objectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, immutable(ds.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
	return append(errs, daemonSetSpec(&ds.Spec, field.NewPath("spec"))...)
}

// DaemonSetStatusUpdate validates a write to a DaemonSet's status.
func DaemonSetStatusUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := objectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta)
	st, p := ds.Status, field.NewPath("status")
	errs = append(errs, nonNegativeCounts(p,
		count{"currentNumberScheduled", int64(st.CurrentNumberScheduled)},
		count{"numberMisscheduled", int64(st.NumberMisscheduled)},
		count{"desiredNumberScheduled", int64(st.DesiredNumberScheduled)},
		count{"numberReady", int64(st.NumberReady)},
		count{"observedGeneration", st.ObservedGeneration},
		count{"updatedNumberScheduled", int64(st.UpdatedNumberScheduled)},
		count{"numberAvailable", int64(st.NumberAvailable)},
		count{"numberUnavailable", int64(st.NumberUnavailable)})...)
	errs = append(errs, optNonNegative(st.CollisionCount, p.Child("collisionCount"))...)
	return append(errs, collisionCountUpdate(st.CollisionCount, old.Status.CollisionCount, p.Child("collisionCount"))...)
}

// daemonSetSpec validates a DaemonSet spec. A nil selector matches nothing,
// so it is reported as a template label mismatch, as upstream does.
func daemonSetSpec(spec *appsv1.DaemonSetSpec, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labelSet(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, PodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	errs = append(errs, restartAlways(&spec.Template.Spec, "DaemonSet", fldPath.Child("template", "spec"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	errs = append(errs, daemonSetStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	return append(errs, optNonNegative(spec.RevisionHistoryLimit, fldPath.Child("revisionHistoryLimit"))...)
}

// daemonSetStrategy validates the update strategy: a rolling update sets
// exactly one of maxUnavailable and maxSurge to a non-zero value.
func daemonSetStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		ru := s.RollingUpdate
		p := fldPath.Child("rollingUpdate")
		if ru == nil {
			return field.ErrorList{field.Required(p, "")}
		}
		errs := intOrPercent(ru.MaxUnavailable, p.Child("maxUnavailable"))
		errs = append(errs, intOrPercent(ru.MaxSurge, p.Child("maxSurge"))...)
		errs = append(errs, notAbove100Percent(ru.MaxUnavailable, p.Child("maxUnavailable"))...)
		errs = append(errs, notAbove100Percent(ru.MaxSurge, p.Child("maxSurge"))...)
		unavailable, surge := intOrPercentValue(ru.MaxUnavailable) != 0, intOrPercentValue(ru.MaxSurge) != 0
		switch {
		case unavailable && surge:
			errs = append(errs, field.Invalid(p.Child("maxSurge"), ru.MaxSurge, "may not be set when maxUnavailable is non-zero"))
		case !unavailable && !surge:
			errs = append(errs, field.Required(p.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
		return errs
	}
	return field.ErrorList{field.NotSupported(fldPath, *s, []string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
}

// ControllerRevision validates a ControllerRevision on create: a
// non-negative revision and data that is a JSON object.
func ControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := controllerRevision(cr)
	dp := field.NewPath("data")
	if cr.Data.Raw == nil {
		return append(errs, field.Required(dp, "data is mandatory"))
	}
	var v any
	switch err := json.Unmarshal(cr.Data.Raw, &v); {
	case err != nil:
		errs = append(errs, field.Invalid(dp, "<value omitted>", fmt.Sprintf("error parsing data: %v", err)))
	case v == nil:
		errs = append(errs, field.Required(dp, "data is mandatory"))
	default:
		if _, ok := v.(map[string]any); !ok {
			errs = append(errs, field.Required(dp, "data must be a valid JSON object"))
		}
	}
	return errs
}

// ControllerRevisionUpdate validates a ControllerRevision update; data is
// immutable.
func ControllerRevisionUpdate(cr, old *appsv1.ControllerRevision) field.ErrorList {
	errs := objectMetaUpdate(&cr.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, controllerRevision(cr)...)
	return append(errs, immutable(cr.Data, old.Data, field.NewPath("data"))...)
}

func controllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := objectMeta(&cr.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, nonNegative(cr.Revision, field.NewPath("revision"))...)
}
