package simulated

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Kinds of timed transitions.
const (
	timerStart = iota
	timerExit
	timerStop
)

// timer is one timed transition of one container.
type timer struct {
	c    *container
	seq  uint32
	kind uint8
	code int32
	// from is when the timer was set, d how long after it fires.
	from time.Time
	d    time.Duration
}

// timerWork collects what a method does with timers while it holds the
// lock, to be done after: the clock must not be called with the lock held.
type timerWork struct {
	set    []timer
	cancel []clock.Timer
}

// cancelAll moves c's pending timers to w.cancel.
func (w *timerWork) cancelAll(c *container) {
	if c.timers == nil {
		return
	}
	for _, t := range c.timers {
		if t != nil {
			w.cancel = append(w.cancel, t)
		}
	}
	c.timers = nil
}

// slot is where c.timers keeps t: a start in 0, an exit or a stop in 1.
func (t *timer) slot() int {
	if t.kind == timerStart {
		return 0
	}
	return 1
}

func (w *timerWork) add(c *container, kind uint8, from time.Time, d time.Duration, code int32) {
	w.set = append(w.set, timer{c: c, seq: c.seq, kind: kind, code: code, from: from, d: d})
}

// apply stops and sets the timers in w; r.mu must not be held.
func (r *Runtime) apply(w *timerWork) {
	for _, t := range w.cancel {
		t.Stop()
	}
	for _, t := range w.set {
		ct := r.clock.AfterFunc(t.d, func() { r.fire(t) })
		r.mu.Lock()
		c := t.c
		stale := c.seq != t.seq || c.state == exited
		if !stale {
			if c.timers == nil {
				c.timers = new([2]clock.Timer)
			}
			c.timers[t.slot()] = ct
		}
		r.mu.Unlock()
		if stale { // stopped or removed since the lock was let go
			ct.Stop()
		}
	}
}

// fire makes the transition t, if it is still due, and tells subscribers.
func (r *Runtime) fire(t timer) {
	r.mu.Lock()
	c := t.c
	if c.seq != t.seq || r.containers[c.id] != c {
		r.mu.Unlock()
		return
	}
	at := t.from.Add(t.d)
	b := c.life()
	changed := false
	switch t.kind {
	case timerStart:
		if c.state == created {
			c.state, c.started, changed = running, stampOf(at), true
		}
	case timerExit:
		if c.state == created {
			c.state, c.started = running, stampOf(t.from.Add(b.startDelay))
		}
		changed = c.exit(at, t.code, b.reason, true)
	case timerStop:
		changed = c.exit(at, t.code, "", false)
	}
	if changed && c.state == exited {
		c.timers = nil
		c.pod.stopIfDone()
	}
	var subs []func(types.UID)
	if changed {
		subs = r.subscribers
	}
	uid := c.pod.uid
	r.mu.Unlock()
	for _, fn := range subs {
		fn(uid)
	}
}
