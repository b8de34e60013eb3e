package job

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// nextBackoff returns key's failure record once the newly finished pods are
// added, in the order they finished: a success clears it, each failure
// adds one. The record is stored only once those pods are in the Job's
// status (see track), so that no pod is added twice.
func (c *Controller) nextBackoff(key string, succeeded, failed []*corev1.Pod) backoff {
	b := c.memory.backoffOf(key)
	now := c.clock.Now()
	type finish struct {
		at     time.Time
		failed bool
	}
	var finishes []finish
	for _, p := range succeeded {
		finishes = append(finishes, finish{at: finishTime(p, now)})
	}
	for _, p := range failed {
		finishes = append(finishes, finish{at: finishTime(p, now), failed: true})
	}
	slices.SortStableFunc(finishes, func(a, b finish) int { return a.at.Compare(b.at) })
	for _, f := range finishes {
		if !f.failed {
			b = backoff{}
			continue
		}
		b.failures++
		if f.at.After(b.lastFailure) {
			b.lastFailure = f.at
		}
	}
	return b
}

// backoffLeft is how long new pods must still wait after the failures b
// records: Backoff after the first, doubling with each further one, at
// most MaxBackoff, counted from the last failure.
func (c *Controller) backoffLeft(b backoff) time.Duration {
	if b.failures == 0 {
		return 0
	}
	wait := c.backoff
	for i := 1; i < b.failures && wait < c.maxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, c.maxBackoff)
	return max(0, wait-c.clock.Since(b.lastFailure))
}
