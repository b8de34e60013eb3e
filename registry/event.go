package registry

import (
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubelite/kubelite/apis"
	"github.com/kubelite/kubelite/registry/validation"
)

// validateEventsV1 checks an events.k8s.io/v1 Event by upstream's rules for
// that API, applied to the core Event it is stored as.
func validateEventsV1(e *eventsv1.Event) field.ErrorList {
	return validation.EventsV1(eventAsCore(e))
}

func validateEventsV1Update(e, old *eventsv1.Event) field.ErrorList {
	return validation.EventsV1Update(eventAsCore(e), eventAsCore(old))
}

func eventAsCore(e *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{}
	apis.EventV1ToCore(e, out)
	return out
}
