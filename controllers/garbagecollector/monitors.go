package garbagecollector

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// syncTimeout is how long an informer may take to list its resource before
// the collector stops waiting for it: a resource whose list keeps failing
// (a custom resource with a broken conversion webhook) must not hold back
// the collection of every other.
const syncTimeout = 30 * time.Second

// monitor is the collector's watch of one resource: its handler on a
// metadata informer of its own, or on a shared informer.
type monitor struct {
	// synced reports whether the handler has seen the resource's list.
	synced  func() bool
	stop    func()
	started time.Time
}

// monitors runs one metadata informer per watched resource, or uses the
// shared informer of it, and feeds their events into the graph. Changes to
// the graph are reported to enqueue.
type monitors struct {
	client  metadata.Interface
	graph   *graph
	enqueue func(types.UID)
	resync  time.Duration
	clock   clock.PassiveClock
	// shared returns a running shared informer of a resource, or nil.
	shared func(schema.GroupVersionResource) cache.SharedIndexInformer

	mu      sync.Mutex
	running map[schema.GroupVersionResource]*monitor
}

// sync starts informers for the resources in want that have none and, when
// the view is complete, stops those of resources no longer served, removing
// their objects from the graph. Informers run until ctx ends.
func (m *monitors) sync(ctx context.Context, r resources) {
	want := r.watched()
	m.mu.Lock()
	defer m.mu.Unlock()
	logger := klog.FromContext(ctx)
	for gvr, res := range want {
		if _, ok := m.running[gvr]; ok {
			continue
		}
		handler := cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { m.observe(res, obj) },
			UpdateFunc: func(_, obj any) { m.observe(res, obj) },
			DeleteFunc: m.forget,
		}
		if informer := m.sharedInformer(gvr); informer != nil {
			reg, err := informer.AddEventHandler(handler)
			if err != nil {
				logger.Error(err, "Cannot watch resource", "resource", gvr)
				continue
			}
			stop := func() { _ = informer.RemoveEventHandler(reg) }
			m.running[gvr] = &monitor{synced: reg.HasSynced, stop: stop, started: m.clock.Now()}
			logger.V(2).Info("Watching resource through a shared informer", "resource", gvr)
			continue
		}
		informer := metadatainformer.NewFilteredMetadataInformer(m.client, gvr, metav1.NamespaceAll, m.resync, cache.Indexers{}, nil).Informer()
		if err := informer.SetTransform(trim); err != nil {
			logger.Error(err, "Cannot trim cached objects", "resource", gvr)
		}
		reg, err := informer.AddEventHandler(handler)
		if err != nil {
			logger.Error(err, "Cannot watch resource", "resource", gvr)
			continue
		}
		mctx, cancel := context.WithCancel(ctx)
		go informer.RunWithContext(mctx)
		m.running[gvr] = &monitor{synced: reg.HasSynced, stop: cancel, started: m.clock.Now()}
		logger.V(2).Info("Watching resource", "resource", gvr)
	}
	if !r.complete {
		return
	}
	for gvr, mon := range m.running {
		if _, ok := want[gvr]; ok {
			continue
		}
		mon.stop()
		delete(m.running, gvr)
		for _, uid := range m.graph.forgetResource(gvr) {
			m.enqueue(uid)
		}
		logger.V(2).Info("Stopped watching resource", "resource", gvr)
	}
}

// sharedInformer is the shared informer of gvr, or nil.
func (m *monitors) sharedInformer(gvr schema.GroupVersionResource) cache.SharedIndexInformer {
	if m.shared == nil {
		return nil
	}
	return m.shared(gvr)
}

// synced reports whether every running informer has listed its resource,
// or has been trying for longer than syncTimeout. Until then the graph may
// miss dependents.
func (m *monitors) synced() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mon := range m.running {
		if !mon.synced() && m.clock.Since(mon.started) < syncTimeout {
			return false
		}
	}
	return true
}

// stopAll stops every informer.
func (m *monitors) stopAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for gvr, mon := range m.running {
		mon.stop()
		delete(m.running, gvr)
	}
}

func (m *monitors) observe(res apiResource, obj any) {
	o, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	n := node{
		uid:       o.GetUID(),
		resource:  res.gvr,
		kind:      res.kind,
		namespace: o.GetNamespace(),
		name:      o.GetName(),
		owners:    o.GetOwnerReferences(),
		deleting:  o.GetDeletionTimestamp() != nil,
	}
	for _, f := range o.GetFinalizers() {
		switch f {
		case metav1.FinalizerDeleteDependents:
			n.foreground = true
		case metav1.FinalizerOrphanDependents:
			n.orphan = true
		}
	}
	for _, uid := range m.graph.observe(n) {
		m.enqueue(uid)
	}
}

func (m *monitors) forget(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	o, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	for _, uid := range m.graph.forget(o.GetUID()) {
		m.enqueue(uid)
	}
}

// trim drops what the collector never reads from cached objects (labels,
// annotations, managed fields), which is most of their size.
func trim(obj any) (any, error) {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		m.Labels, m.Annotations, m.ManagedFields = nil, nil, nil
	}
	return obj, nil
}
