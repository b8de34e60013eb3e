package job

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"
)

// expectationsTTL is how long recorded expectations are trusted. Past it, a
// change the informer never reported (a lost watch event) no longer holds
// the Job back.
const expectationsTTL = 5 * time.Minute

// memory is what the controller remembers between syncs that the cache
// cannot tell yet: per Job key, the pod creations and deletions and the
// finalizer removals it made that the pod informer has not shown, the
// back-off after failed pods, the resource versions its own status writes
// replaced (a Job the cache still shows at one of them is stale), and the
// Jobs whose finished status it wrote before the Job informer showed it.
// It is safe for concurrent use.
type memory struct {
	clock clock.PassiveClock

	mu       sync.Mutex
	expects  map[string]*expected
	removing map[string]sets.Set[types.UID]
	backoffs map[string]backoff
	replaced map[string]sets.Set[string]
	finished sets.Set[types.UID]
}

type expected struct {
	creates, deletes int
	at               time.Time
}

// backoff is a Job's failure record: failed pods since the last succeeded
// one, and when the last of them finished.
type backoff struct {
	failures    int
	lastFailure time.Time
}

func newMemory(clk clock.PassiveClock) *memory {
	return &memory{
		clock: clk, expects: map[string]*expected{}, removing: map[string]sets.Set[types.UID]{},
		backoffs: map[string]backoff{}, replaced: map[string]sets.Set[string]{}, finished: sets.New[types.UID](),
	}
}

// satisfied reports whether key has no creations or deletions outstanding
// (or they expired), so that its pods in the cache can be trusted.
func (m *memory) satisfied(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	x, ok := m.expects[key]
	if !ok || (x.creates <= 0 && x.deletes <= 0) {
		return true
	}
	return m.clock.Since(x.at) > expectationsTTL
}

// expect adds creations and deletions to key's expectations.
func (m *memory) expect(key string, creates, deletes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	x, ok := m.expects[key]
	if !ok || (x.creates <= 0 && x.deletes <= 0) || m.clock.Since(x.at) > expectationsTTL {
		x = &expected{}
		m.expects[key] = x
	}
	x.creates += creates
	x.deletes += deletes
	x.at = m.clock.Now()
}

// created records that one expected creation happened, or will not.
func (m *memory) created(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if x, ok := m.expects[key]; ok && x.creates > 0 {
		x.creates--
	}
}

// deleted records that one expected deletion happened, or will not.
func (m *memory) deleted(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if x, ok := m.expects[key]; ok && x.deletes > 0 {
		x.deletes--
	}
}

// removingFinalizers records that the finalizers of uids are being removed.
func (m *memory) removingFinalizers(key string, uids ...types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.removing[key]
	if !ok {
		s = sets.New[types.UID]()
		m.removing[key] = s
	}
	s.Insert(uids...)
}

// finalizerGone records that uid's finalizer is gone, or will not go.
func (m *memory) finalizerGone(key string, uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.removing[key]; ok {
		s.Delete(uid)
		if s.Len() == 0 {
			delete(m.removing, key)
		}
	}
}

// finalizersBeingRemoved returns a copy of the uids whose finalizer removal
// the cache has not shown yet.
func (m *memory) finalizersBeingRemoved(key string) sets.Set[types.UID] {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removing[key].Clone()
}

// backoffOf returns key's failure record.
func (m *memory) backoffOf(key string) backoff {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.backoffs[key]
}

// setBackoff replaces key's failure record.
func (m *memory) setBackoff(key string, b backoff) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b.failures == 0 {
		delete(m.backoffs, key)
		return
	}
	m.backoffs[key] = b
}

// forget drops everything remembered about key, as when its Job is gone or
// finished.
func (m *memory) forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.expects, key)
	delete(m.removing, key)
	delete(m.backoffs, key)
	delete(m.replaced, key)
}

// wroteOver records that a status write replaced the Job key at resource
// version rv.
func (m *memory) wroteOver(key, rv string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.replaced[key]
	if !ok {
		s = sets.New[string]()
		m.replaced[key] = s
	}
	s.Insert(rv)
}

// stale reports whether resource version rv of the Job key is one this
// controller's own writes replaced, so that the cache has not caught up.
// Any other version means it has: what was recorded is dropped.
func (m *memory) stale(key, rv string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.replaced[key].Has(rv) {
		return true
	}
	delete(m.replaced, key)
	return false
}

// finishWritten records that the Job uid was written finished.
func (m *memory) finishWritten(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished.Insert(uid)
}

// finishSeen records that the cache shows the Job uid finished, or gone.
func (m *memory) finishSeen(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished.Delete(uid)
}

// finishPending reports whether the Job uid was written finished but the
// cache does not show it yet.
func (m *memory) finishPending(uid types.UID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.finished.Has(uid)
}
