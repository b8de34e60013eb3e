// Package scope lends a process's shared informers to components that run
// for a while and stop, such as the controllers during one term as leader.
//
// A controller registers its event handlers with the informers it is given
// and never removes them. Given the process's own factory, a controller
// manager that loses and later regains its Lease would leave one set of
// handlers behind per term, each feeding a queue nobody reads. A Scope hands
// out the same informers, but remembers every handler registered through
// it; Close removes them all. The informers and their caches stay, filled,
// for whoever comes next: one watch and one cache of each resource per
// process, as upstream's single factory per component.
//
// The handlers registered through a scope before its Start share one
// registration per informer (and resync period): client-go gives every
// registration a buffer of 1,024 events and two goroutines, some 20 KiB
// each, and a controller manager registers about 130. A shared registration
// hands each event to its handlers in turn, in the order they were added;
// each handler sees exactly what it would have seen alone, the cache's
// objects first, then every change. Handlers take effect at Start, when the
// registrations are made; those added after Start are registered on their
// own, at once.
package scope

import (
	"context"
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/informers/admissionregistration"
	"k8s.io/client-go/informers/apiserverinternal"
	"k8s.io/client-go/informers/apps"
	"k8s.io/client-go/informers/autoscaling"
	"k8s.io/client-go/informers/batch"
	"k8s.io/client-go/informers/certificates"
	"k8s.io/client-go/informers/coordination"
	"k8s.io/client-go/informers/core"
	"k8s.io/client-go/informers/discovery"
	"k8s.io/client-go/informers/events"
	"k8s.io/client-go/informers/extensions"
	"k8s.io/client-go/informers/flowcontrol"
	"k8s.io/client-go/informers/internalinterfaces"
	"k8s.io/client-go/informers/lifecycle"
	"k8s.io/client-go/informers/networking"
	"k8s.io/client-go/informers/node"
	"k8s.io/client-go/informers/policy"
	"k8s.io/client-go/informers/rbac"
	"k8s.io/client-go/informers/resource"
	"k8s.io/client-go/informers/scheduling"
	"k8s.io/client-go/informers/storage"
	"k8s.io/client-go/informers/storagemigration"
	"k8s.io/client-go/tools/cache"
)

// Scope is an informers.SharedInformerFactory over a shared one. Its
// informers are the shared factory's; Start starts them for as long as the
// shared factory's owner said, not for the scope's user; Shutdown and Close
// only remove the handlers registered through the scope.
type Scope struct {
	shared informers.SharedInformerFactory
	// run is the lifetime of the shared informers that Start starts.
	run context.Context

	mu      sync.Mutex
	closed  bool
	started bool
	regs    []registration
	// pending are the shared registrations that Start makes, by informer
	// and resync period, in the order they were asked for.
	pending []*fanout
	// handlers counts the handlers registered through the scope.
	handlers int
}

type registration struct {
	informer cache.SharedIndexInformer
	reg      cache.ResourceEventHandlerRegistration
}

var _ informers.SharedInformerFactory = (*Scope)(nil)

// New returns a scope over shared, whose informers run until run ends.
func New(run context.Context, shared informers.SharedInformerFactory) *Scope {
	return &Scope{shared: shared, run: run}
}

// Close removes every event handler registered through s. Handlers added
// after Close are removed at once.
func (s *Scope) Close() {
	s.mu.Lock()
	regs, pending := s.regs, s.pending
	s.regs, s.pending, s.closed, s.handlers = nil, nil, true, 0
	s.mu.Unlock()
	for _, r := range regs {
		_ = r.informer.RemoveEventHandler(r.reg)
	}
	for _, f := range pending {
		f.close()
	}
}

// Handlers is how many event handlers are registered through s.
func (s *Scope) Handlers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers
}

// register makes the shared registrations of the handlers added before
// Start. Call it with s.mu held.
func (s *Scope) register() {
	for _, f := range s.pending {
		var reg cache.ResourceEventHandlerRegistration
		var err error
		if f.resync < 0 {
			reg, err = f.informer.AddEventHandler(f)
		} else {
			reg, err = f.informer.AddEventHandlerWithResyncPeriod(f, f.resync)
		}
		if err != nil {
			// The informer has stopped: as with a handler added to it
			// directly, nothing will be delivered.
			f.close()
			continue
		}
		s.regs = append(s.regs, registration{f.informer, reg})
		f.registered(reg)
	}
	s.pending = nil
}

// deferHandler adds h to the shared registration of i and resync (below zero: none)
// that Start makes, and reports false if s has started or closed already.
func (s *Scope) deferHandler(i cache.SharedIndexInformer, h cache.ResourceEventHandler, resync time.Duration) (cache.ResourceEventHandlerRegistration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return nil, false
	}
	var f *fanout
	for _, p := range s.pending {
		if p.informer == i && p.resync == resync {
			f = p
			break
		}
	}
	if f == nil {
		f = newFanout(i, resync)
		s.pending = append(s.pending, f)
	}
	s.handlers++
	return f.add(h), true
}

func (s *Scope) track(i cache.SharedIndexInformer, reg cache.ResourceEventHandlerRegistration, err error) (cache.ResourceEventHandlerRegistration, error) {
	if err != nil {
		return reg, err
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.regs = append(s.regs, registration{i, reg})
		s.handlers++
	}
	s.mu.Unlock()
	if closed {
		_ = i.RemoveEventHandler(reg)
	}
	return reg, nil
}

// Start registers the handlers added so far and starts the informers
// requested so far, for the shared factory's lifetime: a scope's user that
// stops does not stop what others share.
func (s *Scope) Start(<-chan struct{}) {
	s.mu.Lock()
	if !s.closed {
		s.started = true
		s.register()
	}
	s.mu.Unlock()
	s.shared.StartWithContext(s.run)
}

// StartWithContext is Start.
func (s *Scope) StartWithContext(context.Context) { s.Start(nil) }

// Shutdown removes the scope's handlers; the shared informers keep running.
func (s *Scope) Shutdown() { s.Close() }

// WaitForCacheSync waits for the shared informers' caches.
func (s *Scope) WaitForCacheSync(stop <-chan struct{}) map[reflect.Type]bool {
	return s.shared.WaitForCacheSync(stop)
}

// WaitForCacheSyncWithContext waits for the shared informers' caches.
func (s *Scope) WaitForCacheSyncWithContext(ctx context.Context) cache.SyncResult {
	return s.shared.WaitForCacheSyncWithContext(ctx)
}

// InformerFor returns the shared informer for obj's type.
func (s *Scope) InformerFor(obj runtime.Object, newFunc internalinterfaces.NewInformerFunc) cache.SharedIndexInformer {
	return &informer{s.shared.InformerFor(obj, newFunc), s}
}

// InformerName is the shared factory's name for its informers' metrics.
func (s *Scope) InformerName() *cache.InformerName { return s.shared.InformerName() }

// ForResource returns the shared generic informer for resource.
func (s *Scope) ForResource(resource schema.GroupVersionResource) (informers.GenericInformer, error) {
	g, err := s.shared.ForResource(resource)
	if err != nil {
		return nil, err
	}
	return generic{g, s}, nil
}

// informer is a shared informer whose new handlers its scope remembers.
type informer struct {
	cache.SharedIndexInformer
	scope *Scope
}

func (i *informer) AddEventHandler(h cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	if reg, ok := i.scope.deferHandler(i.SharedIndexInformer, h, -1); ok {
		return reg, nil
	}
	reg, err := i.SharedIndexInformer.AddEventHandler(h)
	return i.scope.track(i.SharedIndexInformer, reg, err)
}

func (i *informer) AddEventHandlerWithResyncPeriod(h cache.ResourceEventHandler, resync time.Duration) (cache.ResourceEventHandlerRegistration, error) {
	if resync >= 0 {
		if reg, ok := i.scope.deferHandler(i.SharedIndexInformer, h, resync); ok {
			return reg, nil
		}
	}
	reg, err := i.SharedIndexInformer.AddEventHandlerWithResyncPeriod(h, resync)
	return i.scope.track(i.SharedIndexInformer, reg, err)
}

// RemoveEventHandler removes a handler of a shared registration from it, or
// any other registration from the informer.
func (i *informer) RemoveEventHandler(reg cache.ResourceEventHandlerRegistration) error {
	if h, ok := reg.(*handler); ok {
		h.fanout.remove(h)
		return nil
	}
	return i.SharedIndexInformer.RemoveEventHandler(reg)
}

func (i *informer) AddEventHandlerWithOptions(h cache.ResourceEventHandler, o cache.HandlerOptions) (cache.ResourceEventHandlerRegistration, error) {
	reg, err := i.SharedIndexInformer.AddEventHandlerWithOptions(h, o)
	return i.scope.track(i.SharedIndexInformer, reg, err)
}

type generic struct {
	informers.GenericInformer
	scope *Scope
}

func (g generic) Informer() cache.SharedIndexInformer {
	return &informer{g.GenericInformer.Informer(), g.scope}
}

// The groups, each built on the scope so that their informers come through
// InformerFor.

func (s *Scope) Admissionregistration() admissionregistration.Interface {
	return admissionregistration.New(s, "", nil)
}
func (s *Scope) Internal() apiserverinternal.Interface { return apiserverinternal.New(s, "", nil) }
func (s *Scope) Apps() apps.Interface                  { return apps.New(s, "", nil) }
func (s *Scope) Autoscaling() autoscaling.Interface    { return autoscaling.New(s, "", nil) }
func (s *Scope) Batch() batch.Interface                { return batch.New(s, "", nil) }
func (s *Scope) Certificates() certificates.Interface  { return certificates.New(s, "", nil) }
func (s *Scope) Coordination() coordination.Interface  { return coordination.New(s, "", nil) }
func (s *Scope) Core() core.Interface                  { return core.New(s, "", nil) }
func (s *Scope) Discovery() discovery.Interface        { return discovery.New(s, "", nil) }
func (s *Scope) Events() events.Interface              { return events.New(s, "", nil) }
func (s *Scope) Extensions() extensions.Interface      { return extensions.New(s, "", nil) }
func (s *Scope) Flowcontrol() flowcontrol.Interface    { return flowcontrol.New(s, "", nil) }
func (s *Scope) Lifecycle() lifecycle.Interface        { return lifecycle.New(s, "", nil) }
func (s *Scope) Networking() networking.Interface      { return networking.New(s, "", nil) }
func (s *Scope) Node() node.Interface                  { return node.New(s, "", nil) }
func (s *Scope) Policy() policy.Interface              { return policy.New(s, "", nil) }
func (s *Scope) Rbac() rbac.Interface                  { return rbac.New(s, "", nil) }
func (s *Scope) Resource() resource.Interface          { return resource.New(s, "", nil) }
func (s *Scope) Scheduling() scheduling.Interface      { return scheduling.New(s, "", nil) }
func (s *Scope) Storage() storage.Interface            { return storage.New(s, "", nil) }
func (s *Scope) Storagemigration() storagemigration.Interface {
	return storagemigration.New(s, "", nil)
}
