package table

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEventCells(t *testing.T) {
	micro := func(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(testNow.Add(-d)) }
	tests := []struct {
		name string
		ev   corev1.Event
		want []interface{}
	}{{
		name: "core event",
		ev: corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "web.17f"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
			Type:           corev1.EventTypeWarning,
			Reason:         "BackOff",
			Message:        "  Back-off restarting failed container\n",
			Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: ago(10 * time.Minute),
			LastTimestamp:  ago(30 * time.Second),
			Count:          7,
		},
		want: []interface{}{"30s", "Warning", "BackOff", "pod/web", "spec.containers{app}", "kubelet, node-1", "Back-off restarting failed container", "10m", int64(7), "web.17f"},
	}, {
		name: "events.k8s.io singleton",
		ev: corev1.Event{
			ObjectMeta:          metav1.ObjectMeta{Name: "n.1"},
			InvolvedObject:      corev1.ObjectReference{Kind: "Node", Name: "node-1"},
			Type:                corev1.EventTypeNormal,
			Reason:              "Starting",
			EventTime:           micro(2 * time.Minute),
			ReportingController: "kubelite-nodeagent",
			ReportingInstance:   "node-1",
		},
		want: []interface{}{"2m", "Normal", "Starting", "node/node-1", "", "kubelite-nodeagent, node-1", "", "2m", int64(1), "n.1"},
	}, {
		name: "series",
		ev: corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "s.1"},
			InvolvedObject: corev1.ObjectReference{Kind: "Namespace"},
			Source:         corev1.EventSource{Component: "controller"},
			FirstTimestamp: ago(time.Hour),
			LastTimestamp:  ago(30 * time.Minute),
			Count:          2,
			Series:         &corev1.EventSeries{Count: 12, LastObservedTime: micro(4 * time.Second)},
		},
		want: []interface{}{"4s", "", "", "namespace", "", "controller", "", "60m", int64(12), "s.1"},
	}, {
		name: "no times",
		ev:   corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Count: 3},
		want: []interface{}{"<unknown>", "", "", "", "", "", "", "<unknown>", int64(3), "x"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, Events(), &tt.ev)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventsV1(t *testing.T) {
	testColumns(t, []columnCase{
		{"events.k8s.io", EventsV1(), []col{str("Last Seen"), str("Type"), str("Reason"), str("Object"), wideStr("Subobject"), wideStr("Source"), str("Message"), wideStr("First Seen"), wideStr("Count"), wideStr("Name")}},
	})
	if diff := cmp.Diff(Events().(*convertor).columns, EventsV1().(*convertor).columns); diff != "" {
		t.Errorf("columns differ from core events (-core +v1):\n%s", diff)
	}

	micro := func(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(testNow.Add(-d)) }
	tests := []struct {
		name string
		ev   eventsv1.Event
		want []interface{}
	}{{
		name: "new API singleton",
		ev: eventsv1.Event{
			ObjectMeta:          metav1.ObjectMeta{Name: "web.1"},
			EventTime:           micro(3 * time.Minute),
			ReportingController: "kubelite/scheduler",
			ReportingInstance:   "kubelite-0",
			Action:              "Binding",
			Reason:              "Scheduled",
			Regarding:           corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec"},
			Related:             &corev1.ObjectReference{Kind: "Node", Name: "node-1"},
			Note:                " Successfully assigned default/web to node-1 ",
			Type:                corev1.EventTypeNormal,
		},
		want: []interface{}{"3m", "Normal", "Scheduled", "pod/web", "spec", "kubelite/scheduler, kubelite-0", "Successfully assigned default/web to node-1", "3m", int64(1), "web.1"},
	}, {
		name: "series",
		ev: eventsv1.Event{
			ObjectMeta:          metav1.ObjectMeta{Name: "web.2"},
			EventTime:           micro(time.Hour),
			Series:              &eventsv1.EventSeries{Count: 9, LastObservedTime: micro(5 * time.Second)},
			ReportingController: "kubelet",
			Reason:              "BackOff",
			Regarding:           corev1.ObjectReference{Kind: "Pod", Name: "web"},
			Type:                corev1.EventTypeWarning,
			DeprecatedCount:     2,
		},
		want: []interface{}{"5s", "Warning", "BackOff", "pod/web", "", "kubelet", "", "60m", int64(9), "web.2"},
	}, {
		name: "deprecated fields from a core event",
		ev: eventsv1.Event{
			ObjectMeta:               metav1.ObjectMeta{Name: "old.1"},
			Reason:                   "Pulled",
			Regarding:                corev1.ObjectReference{Kind: "Pod", Name: "web"},
			DeprecatedSource:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
			DeprecatedFirstTimestamp: ago(2 * time.Hour),
			DeprecatedLastTimestamp:  ago(10 * time.Minute),
			DeprecatedCount:          4,
			ReportingController:      "ignored",
		},
		want: []interface{}{"10m", "", "Pulled", "pod/web", "", "kubelet, node-1", "", "120m", int64(4), "old.1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, EventsV1(), &tt.ev)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
			if row.Object.Object != &tt.ev {
				t.Errorf("row object is %T, want the events.k8s.io event", row.Object.Object)
			}
		})
	}

	if _, err := convert(t, EventsV1(), &corev1.Event{}, nil); !errors.Is(err, ErrUnsupportedObject) {
		t.Errorf("core event: error = %v, want %v", err, ErrUnsupportedObject)
	}
}
