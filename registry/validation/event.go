package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits on the fields of new-style (eventTime) events.
const (
	eventReportingInstanceLimit = 128
	eventActionLimit            = 128
	eventReasonLimit            = 128
	eventNoteLimit              = 1024
)

// Event validates a core/v1 Event on create. Through the core API only the
// legacy rules apply: the name must be a valid path segment, the involved
// object's namespace must agree with the event's, and events with an
// eventTime need reportingComponent, reportingInstance, action and reason.
func Event(ev *corev1.Event) field.ErrorList {
	errs := objectMeta(&ev.ObjectMeta, true, path.ValidatePathSegmentName)
	return append(errs, legacyEvent(ev)...)
}

// EventUpdate validates a core/v1 Event update: metadata update rules plus
// the create rules on the new event.
func EventUpdate(ev, old *corev1.Event) field.ErrorList {
	errs := objectMetaUpdate(&ev.ObjectMeta, &old.ObjectMeta)
	return append(errs, legacyEvent(ev)...)
}

// legacyEvent holds the checks every core/v1 event must pass.
func legacyEvent(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	const nsMsg = "does not match event.namespace"
	if ev.EventTime.IsZero() {
		if ev.InvolvedObject.Namespace == "" {
			if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, nsMsg))
			}
		} else if ev.Namespace != ev.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, nsMsg))
		}
		return errs
	}
	if ev.InvolvedObject.Namespace == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
		errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, nsMsg))
	}
	rc := field.NewPath("reportingComponent")
	if ev.ReportingController == "" {
		errs = append(errs, field.Required(rc, ""))
	}
	errs = append(errs, qualifiedName(ev.ReportingController, rc)...)
	for _, f := range []struct {
		name, value string
		limit       int
		required    bool
	}{
		{"reportingInstance", ev.ReportingInstance, eventReportingInstanceLimit, true},
		{"action", ev.Action, eventActionLimit, true},
		{"reason", ev.Reason, eventReasonLimit, true},
		{"message", ev.Message, eventNoteLimit, false},
	} {
		if f.required && f.value == "" {
			errs = append(errs, field.Required(field.NewPath(f.name), ""))
		}
		if len(f.value) > f.limit {
			errs = append(errs, field.Invalid(field.NewPath(f.name), "", fmt.Sprintf("can have at most %v characters", f.limit)))
		}
	}
	return errs
}
