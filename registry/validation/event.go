package validation

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
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
	return append(errs, legacyEvent(ev, coreReportingField)...)
}

// EventUpdate validates a core/v1 Event update: metadata update rules plus
// the create rules on the new event.
func EventUpdate(ev, old *corev1.Event) field.ErrorList {
	errs := objectMetaUpdate(&ev.ObjectMeta, &old.ObjectMeta)
	return append(errs, legacyEvent(ev, coreReportingField)...)
}

// The name of the reporting controller's field in errors: core/v1 calls it
// reportingComponent, events.k8s.io/v1 reportingController.
const (
	coreReportingField = "reportingComponent"
	v1ReportingField   = "reportingController"
)

// EventsV1 validates, on create, an events.k8s.io/v1 Event given as the core
// Event it is stored as. Besides the legacy rules, upstream's strict rules
// for the new API apply: a DNS subdomain name, an eventTime, type Normal or
// Warning, none of the deprecated fields (firstTimestamp, lastTimestamp,
// count, source) and a series of at least 2 with a lastObservedTime. Field
// paths name the core fields, as upstream's do.
func EventsV1(ev *corev1.Event) field.ErrorList {
	errs := objectMeta(&ev.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, legacyEvent(ev, v1ReportingField)...)
	errs = append(errs, eventSeries(ev)...)
	if ev.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", ev.Type)))
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"firstTimestamp", !ev.FirstTimestamp.IsZero()},
		{"lastTimestamp", !ev.LastTimestamp.IsZero()},
		{"count", ev.Count != 0},
		{"source", ev.Source.Component != "" || ev.Source.Host != ""},
	} {
		if f.set {
			errs = append(errs, field.Invalid(field.NewPath(f.name), "", "needs to be unset"))
		}
	}
	return errs
}

// EventsV1Update validates an update through events.k8s.io/v1: the legacy
// rules, a changed series as on create, and everything but the series and
// metadata immutable (eventTime up to microsecond precision).
func EventsV1Update(ev, old *corev1.Event) field.ErrorList {
	errs := objectMetaUpdate(&ev.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, legacyEvent(ev, v1ReportingField)...)
	if !apiequality.Semantic.DeepEqual(ev.Series, old.Series) {
		errs = append(errs, eventSeries(ev)...)
	}
	for _, f := range []struct {
		name     string
		new, old any
	}{
		{"involvedObject", ev.InvolvedObject, old.InvolvedObject},
		{"reason", ev.Reason, old.Reason},
		{"message", ev.Message, old.Message},
		{"source", ev.Source, old.Source},
		{"firstTimestamp", ev.FirstTimestamp, old.FirstTimestamp},
		{"lastTimestamp", ev.LastTimestamp, old.LastTimestamp},
		{"count", ev.Count, old.Count},
		{"type", ev.Type, old.Type},
		{"action", ev.Action, old.Action},
		{"related", ev.Related, old.Related},
		{"reportingController", ev.ReportingController, old.ReportingController},
		{"reportingInstance", ev.ReportingInstance, old.ReportingInstance},
	} {
		errs = append(errs, immutable(f.new, f.old, field.NewPath(f.name))...)
	}
	if !ev.EventTime.Truncate(time.Microsecond).Equal(old.EventTime.Truncate(time.Microsecond)) {
		errs = append(errs, immutable(ev.EventTime, old.EventTime, field.NewPath("eventTime"))...)
	}
	return errs
}

// eventSeries checks the series of an events.k8s.io/v1 Event.
func eventSeries(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if s := ev.Series; s != nil {
		if s.Count < 2 {
			errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
		}
		if s.LastObservedTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
		}
	}
	return errs
}

// legacyEvent holds the checks every event must pass; reportingField names
// the reporting controller's field in errors.
func legacyEvent(ev *corev1.Event, reportingField string) field.ErrorList {
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
	rc := field.NewPath(reportingField)
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
