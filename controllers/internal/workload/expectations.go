package workload

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// expectationsTTL is how long recorded expectations are trusted. Past it, a
// create or delete the informer never reported (a lost watch event) no
// longer holds the set back.
const expectationsTTL = 5 * time.Minute

// Expectations remember, per owner key, the pod creations and deletions a
// sync made that the pod informer has not reported yet. While any are
// outstanding the owner's pods in the cache are known to be stale, so it
// creates or deletes nothing more. It is safe for concurrent use.
type Expectations struct {
	clock clock.PassiveClock

	mu  sync.Mutex
	all map[string]*expected
}

type expected struct {
	creates int
	deletes map[string]struct{} // pod namespace/name
	at      time.Time
}

// NewExpectations returns empty expectations timed by clk.
func NewExpectations(clk clock.PassiveClock) *Expectations {
	return &Expectations{clock: clk, all: map[string]*expected{}}
}

// Satisfied reports whether key has nothing outstanding (or what it has
// expired), so that its pods in the cache can be trusted.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.all[key]
	if !ok || (x.creates <= 0 && len(x.deletes) == 0) {
		return true
	}
	return e.clock.Since(x.at) > expectationsTTL
}

// Expect replaces key's expectations with creates creations and the
// deletion of the pods deletes names.
func (e *Expectations) Expect(key string, creates int, deletes []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expected{creates: creates, deletes: map[string]struct{}{}, at: e.clock.Now()}
	for _, d := range deletes {
		x.deletes[d] = struct{}{}
	}
	e.all[key] = x
}

// Created records that one expected creation happened, or will not.
func (e *Expectations) Created(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.all[key]; ok && x.creates > 0 {
		x.creates--
	}
}

// Deleted records that the pod named pod is being deleted, or will not be.
func (e *Expectations) Deleted(key, pod string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.all[key]; ok {
		delete(x.deletes, pod)
	}
}

// Forget drops key's expectations, as when the owner is gone.
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.all, key)
}
