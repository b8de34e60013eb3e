package table

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Events returns the table convertor for core/v1 events: Last Seen, Type,
// Reason, Object, wide Subobject and Source, Message, and wide First Seen,
// Count, Name (the column order upstream uses).
//
// First Seen falls back to eventTime and Last Seen to First Seen; for an event
// series Last Seen and Count come from the series. A count of 0 shows as 1.
// Object reads "kind/name" with the kind in lower case. Source is
// "component, host", taken from the reporting controller and instance when
// source is empty.
func Events() rest.TableConvertor {
	return newConvertor(eventColumns(), cells(eventCells))
}

// eventColumns are the columns of both event tables.
func eventColumns() []metav1.TableColumnDefinition {
	event := corev1.Event{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		column("Last Seen", event["lastTimestamp"]),
		column("Type", event["type"]),
		column("Reason", event["reason"]),
		column("Object", event["involvedObject"]),
		wide(column("Subobject", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"])),
		wide(column("Source", event["source"])),
		column("Message", event["message"]),
		wide(column("First Seen", event["firstTimestamp"])),
		wide(column("Count", event["count"])),
		wide(nameColumn()),
	}
}

// EventsV1 returns the table convertor for events.k8s.io/v1 events. Upstream
// serves both event APIs from one store, so the columns and cells are those
// of Events: regarding is the Object, note the Message, and the deprecated
// source, timestamps and count stand in for their core/v1 counterparts.
func EventsV1() rest.TableConvertor {
	return newConvertor(eventColumns(), cells(func(ev *eventsv1.Event, now time.Time) []interface{} {
		return eventCells(coreEvent(ev), now)
	}))
}

// coreEvent copies the fields the event row reads from an events.k8s.io/v1
// event into a core/v1 event, as the conversion between the two does.
func coreEvent(ev *eventsv1.Event) *corev1.Event {
	core := &corev1.Event{
		ObjectMeta:          ev.ObjectMeta,
		InvolvedObject:      ev.Regarding,
		Reason:              ev.Reason,
		Message:             ev.Note,
		Source:              ev.DeprecatedSource,
		FirstTimestamp:      ev.DeprecatedFirstTimestamp,
		LastTimestamp:       ev.DeprecatedLastTimestamp,
		Count:               ev.DeprecatedCount,
		Type:                ev.Type,
		EventTime:           ev.EventTime,
		ReportingController: ev.ReportingController,
		ReportingInstance:   ev.ReportingInstance,
	}
	if s := ev.Series; s != nil {
		core.Series = &corev1.EventSeries{Count: s.Count, LastObservedTime: s.LastObservedTime}
	}
	return core
}

func eventCells(ev *corev1.Event, now time.Time) []interface{} {
	first := age(ev.FirstTimestamp, now)
	if ev.FirstTimestamp.IsZero() {
		first = microAge(ev.EventTime, now)
	}
	last := age(ev.LastTimestamp, now)
	if ev.LastTimestamp.IsZero() {
		last = first
	}
	count := ev.Count
	switch {
	case ev.Series != nil:
		last = microAge(ev.Series.LastObservedTime, now)
		count = ev.Series.Count
	case count == 0:
		count = 1 // singleton events of the events.k8s.io API carry no count
	}

	object := strings.ToLower(ev.InvolvedObject.Kind)
	if ev.InvolvedObject.Name != "" {
		object += "/" + ev.InvolvedObject.Name
	}
	return []interface{}{
		last,
		ev.Type,
		ev.Reason,
		object,
		ev.InvolvedObject.FieldPath,
		eventSource(ev),
		strings.TrimSpace(ev.Message),
		first,
		int64(count),
		ev.Name,
	}
}

// eventSource is the Source cell: "component" or "component, host".
func eventSource(ev *corev1.Event) string {
	component, host := ev.Source.Component, ev.Source.Host
	if component == "" {
		component = ev.ReportingController
	}
	if host == "" {
		host = ev.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
