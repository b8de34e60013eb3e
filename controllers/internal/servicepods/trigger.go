package servicepods

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TriggerTimes works out, for each sync of a Service, the value of the
// endpoints.kubernetes.io/last-change-trigger-time annotation: the earliest
// time of a change not yet reflected, as upstream. A pod's change time is its
// Ready condition's last transition; a Service's is its creation. The first
// sync of a Service after the controller started uses the Service's
// creation. The zero value is ready to use; it is safe for concurrent use.
type TriggerTimes struct {
	mu    sync.Mutex
	state map[string]triggerState
}

type triggerState struct {
	service time.Time
	pods    map[string]time.Time
}

// Compute returns the trigger time for a sync of svc over pods (the pods
// its selector matches) and remembers what it saw, so that the next call
// counts only later changes. The result may be zero: nothing changed.
func (t *TriggerTimes) Compute(svc *corev1.Service, pods []*corev1.Pod) time.Time {
	key := svc.Namespace + "/" + svc.Name
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == nil {
		t.state = map[string]triggerState{}
	}
	prev, known := t.state[key]
	next := triggerState{service: svc.CreationTimestamp.Time, pods: make(map[string]time.Time, len(pods))}
	var earliest time.Time
	earlier := func(at time.Time) {
		if earliest.IsZero() || at.Before(earliest) {
			earliest = at
		}
	}
	for _, pod := range pods {
		c := readyCondition(pod)
		if c == nil || c.LastTransitionTime.IsZero() {
			continue
		}
		at := c.LastTransitionTime.Time
		next.pods[pod.Name] = at
		if at.After(prev.pods[pod.Name]) {
			earlier(at)
		}
	}
	if next.service.After(prev.service) {
		earlier(next.service)
	}
	t.state[key] = next
	if !known {
		return svc.CreationTimestamp.Time
	}
	return earliest
}

// Forget drops what was remembered about the Service namespace/name.
func (t *TriggerTimes) Forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.state, key)
}
