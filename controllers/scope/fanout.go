package scope

import (
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
)

// fanout is one registration with an informer that hands each event to
// several handlers, in the order they were added.
type fanout struct {
	informer cache.SharedIndexInformer
	resync   time.Duration

	mu       sync.RWMutex
	handlers []*handler

	// ready is closed once the registration is made (reg set) or will never
	// be (reg nil).
	ready     chan struct{}
	readyOnce sync.Once
	reg       cache.ResourceEventHandlerRegistration
}

func newFanout(i cache.SharedIndexInformer, resync time.Duration) *fanout {
	return &fanout{informer: i, resync: resync, ready: make(chan struct{})}
}

func (f *fanout) add(h cache.ResourceEventHandler) *handler {
	r := &handler{ResourceEventHandler: h, fanout: f}
	f.mu.Lock()
	f.handlers = append(f.handlers, r)
	f.mu.Unlock()
	return r
}

func (f *fanout) remove(h *handler) {
	f.mu.Lock()
	f.handlers = slices.DeleteFunc(f.handlers, func(x *handler) bool { return x == h })
	f.mu.Unlock()
}

func (f *fanout) registered(reg cache.ResourceEventHandlerRegistration) {
	f.readyOnce.Do(func() {
		f.reg = reg
		close(f.ready)
	})
}

// close drops the handlers: the registration is never made, or is removed.
func (f *fanout) close() {
	f.mu.Lock()
	f.handlers = nil
	f.mu.Unlock()
	f.registered(nil)
}

func (f *fanout) each(do func(cache.ResourceEventHandler)) {
	f.mu.RLock()
	handlers := f.handlers
	f.mu.RUnlock()
	for _, h := range handlers {
		do(h.ResourceEventHandler)
	}
}

func (f *fanout) OnAdd(obj any, isInInitialList bool) {
	f.each(func(h cache.ResourceEventHandler) { h.OnAdd(obj, isInInitialList) })
}

func (f *fanout) OnUpdate(oldObj, newObj any) {
	f.each(func(h cache.ResourceEventHandler) { h.OnUpdate(oldObj, newObj) })
}

func (f *fanout) OnDelete(obj any) {
	f.each(func(h cache.ResourceEventHandler) { h.OnDelete(obj) })
}

// handler is one handler of a fanout, and its registration: it has synced
// once the fanout's registration has.
type handler struct {
	cache.ResourceEventHandler
	fanout *fanout

	doneOnce sync.Once
	done     chan struct{}
}

var _ cache.ResourceEventHandlerRegistration = (*handler)(nil)

func (h *handler) HasSynced() bool {
	select {
	case <-h.fanout.ready:
		return h.fanout.reg != nil && h.fanout.reg.HasSynced()
	default:
		return false
	}
}

func (h *handler) HasSyncedChecker() cache.DoneChecker { return h }

// Name names what HasSyncedChecker waits for.
func (h *handler) Name() string { return "scope handler" }

// Done is closed once the handler has synced; never, if its registration is
// never made.
func (h *handler) Done() <-chan struct{} {
	h.doneOnce.Do(func() {
		h.done = make(chan struct{})
		go func() {
			<-h.fanout.ready
			if h.fanout.reg == nil {
				return
			}
			<-h.fanout.reg.HasSyncedChecker().Done()
			close(h.done)
		}()
	})
	return h.done
}
