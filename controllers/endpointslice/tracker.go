package endpointslice

import (
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// tracker remembers the controller's own writes to slices until the slice
// informer has shown them, so that a sync never acts on a cache that does
// not yet hold them (a second create of the same endpoints, an update of an
// old copy) and the informer's echo of a write does not queue another sync.
// Only equality of resourceVersions is used, never their order.
type tracker struct {
	mu     sync.Mutex
	writes map[string]map[types.UID]write // by service key
}

type write struct {
	replaced string // resourceVersion the write replaced; "" for a create
	written  string // resourceVersion it produced
	deleting bool
}

func newTracker() *tracker { return &tracker{writes: map[string]map[types.UID]write{}} }

func (t *tracker) record(key string, uid types.UID, w write) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.writes[key]
	if m == nil {
		m = map[types.UID]write{}
		t.writes[key] = m
	}
	m[uid] = w
}

// created records a slice this controller created.
func (t *tracker) created(key string, s *discoveryv1.EndpointSlice) {
	t.record(key, s.UID, write{written: s.ResourceVersion})
}

// updated records an update that replaced resourceVersion old.
func (t *tracker) updated(key, old string, s *discoveryv1.EndpointSlice) {
	t.record(key, s.UID, write{replaced: old, written: s.ResourceVersion})
}

// deleted records a deletion this controller asked for.
func (t *tracker) deleted(key string, s *discoveryv1.EndpointSlice) {
	t.record(key, s.UID, write{replaced: s.ResourceVersion, deleting: true})
}

// stale reports whether the listed slices of a service miss a write of
// this controller: a created or updated slice absent or still at the old
// version, or a deleted slice still present.
func (t *tracker) stale(key string, slices []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.writes[key]
	if len(m) == 0 {
		return false
	}
	seen := make(map[types.UID]bool, len(slices))
	for _, s := range slices {
		seen[s.UID] = true
		if w, ok := m[s.UID]; ok && (w.deleting || (w.replaced != "" && w.replaced == s.ResourceVersion)) {
			return true
		}
	}
	for uid, w := range m {
		if !w.deleting && !seen[uid] {
			return true
		}
	}
	return false
}

// observe takes a slice the informer added or updated and reports whether
// it is news to the controller: not the echo of its own write. Once the
// informer is past a write, the write is forgotten.
func (t *tracker) observe(key string, s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.writes[key][s.UID]
	if !ok || w.deleting {
		return true
	}
	if s.ResourceVersion == w.replaced {
		return false // an old copy; the write is still to come
	}
	delete(t.writes[key], s.UID)
	return s.ResourceVersion != w.written
}

// gone takes a slice the informer deleted and reports whether that is
// news: not a deletion the controller asked for.
func (t *tracker) gone(key string, s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.writes[key][s.UID]
	delete(t.writes[key], s.UID)
	if len(t.writes[key]) == 0 {
		delete(t.writes, key)
	}
	return !ok || !w.deleting
}

// forget drops everything remembered about a service.
func (t *tracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.writes, key)
}

// watch queues, through add, the "namespace/service" key of each slice
// managedBy manages whenever a change to it is not the echo of a write the
// tracker remembers.
func (t *tracker) watch(slices cache.SharedIndexInformer, managedBy string, add func(key string)) (cache.ResourceEventHandlerRegistration, error) {
	changed := func(obj any, deleted bool) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelManagedBy] != managedBy || s.Labels[discoveryv1.LabelServiceName] == "" {
			return
		}
		key := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
		news := false
		if deleted {
			news = t.gone(key, s)
		} else {
			news = t.observe(key, s)
		}
		if news {
			add(key)
		}
	}
	return slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { changed(obj, false) },
		UpdateFunc: func(_, obj any) { changed(obj, false) },
		DeleteFunc: func(obj any) { changed(obj, true) },
	})
}
