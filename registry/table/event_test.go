package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
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
