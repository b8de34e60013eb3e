package resourcequota

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	quotaeval "github.com/kubelite/kubelite/auth/admission/resourcequota"
)

// syncTimeout bounds the wait for a newly started informer's first list.
const syncTimeout = 30 * time.Second

// unknownRetry is how long a resource that discovery does not know is
// left alone before discovery is asked again.
const unknownRetry = time.Minute

// scopes are the quota scopes an object's update can move it in or out of;
// their negations follow.
var scopes = []corev1.ScopedResourceSelectorRequirement{
	{ScopeName: corev1.ResourceQuotaScopeTerminating, Operator: corev1.ScopeSelectorOpExists},
	{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists},
}

// monitors watches the resources quotas count and calls replenish with the
// evaluator and namespace of each object that may give usage back, and of
// each object created after the informer's first list (with its creation
// time: admission may not have charged it).
type monitors struct {
	factory   informers.SharedInformerFactory
	metadata  metadatainformer.SharedInformerFactory // nil: no custom resources
	mapper    meta.RESTMapper
	replenish func(e quota.Evaluator, namespace string, created time.Time)
	clock     clock.PassiveClock

	mu         sync.Mutex
	unknown    map[schema.GroupResource]time.Time // resources not found, and when
	listers    map[schema.GroupVersionResource]cache.GenericLister
	coreSynced []cache.InformerSynced // of the core resources, which Run waits for
}

func newMonitors(factory informers.SharedInformerFactory, md metadata.Interface, mapper meta.RESTMapper,
	clk clock.PassiveClock, replenish func(quota.Evaluator, string, time.Time)) *monitors {
	m := &monitors{
		factory:   factory,
		mapper:    mapper,
		replenish: replenish,
		clock:     clk,
		unknown:   map[schema.GroupResource]time.Time{},
		listers:   map[schema.GroupVersionResource]cache.GenericLister{},
	}
	if md != nil {
		m.metadata = metadatainformer.NewSharedInformerFactory(md, 0)
	}
	return m
}

// lister is the evaluators' quota.ListerForResourceFunc.
func (m *monitors) lister(gvr schema.GroupVersionResource) (cache.GenericLister, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.listers[gvr]
	if !ok {
		return nil, fmt.Errorf("no informer for %s", gvr)
	}
	return l, nil
}

// watchCore watches the core resource e evaluates, from the shared factory.
func (m *monitors) watchCore(e quota.Evaluator) error {
	gvr := corev1.SchemeGroupVersion.WithResource(e.GroupResource().Resource)
	inf, err := m.factory.ForResource(gvr)
	if err != nil {
		return fmt.Errorf("resourcequota: informer for %s: %w", gvr, err)
	}
	reg, err := m.watch(inf.Informer(), e)
	if err != nil {
		return err
	}
	m.listers[gvr] = inf.Lister()
	m.coreSynced = append(m.coreSynced, inf.Informer().HasSynced, reg.HasSynced)
	return nil
}

// watch calls replenish for objects deleted from informer, for those whose
// usage or scopes under e change, and for those created after its first
// list.
func (m *monitors) watch(informer cache.SharedIndexInformer, e quota.Evaluator) (cache.ResourceEventHandlerRegistration, error) {
	replenish := func(obj any, added bool) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		o, err := meta.Accessor(obj)
		if err != nil {
			return
		}
		var created time.Time
		if added {
			created = o.GetCreationTimestamp().Time
		}
		m.replenish(e, o.GetNamespace(), created)
	}
	reg, err := informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			if !initial {
				replenish(obj, true)
			}
		},
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(runtime.Object)
			n, ok2 := cur.(runtime.Object)
			if ok1 && ok2 && changed(e, o, n) {
				replenish(cur, false)
			}
		},
		DeleteFunc: func(obj any) { replenish(obj, false) },
	})
	if err != nil {
		return nil, fmt.Errorf("resourcequota: add event handler for %s: %w", e.GroupResource(), err)
	}
	return reg, nil
}

// changed reports whether an update changed what the object uses or which
// scopes it is in.
func changed(e quota.Evaluator, old, cur runtime.Object) bool {
	u1, err1 := e.Usage(old)
	u2, err2 := e.Usage(cur)
	if err1 != nil || err2 != nil {
		return false
	}
	if !quota.Equals(u1, u2) {
		return true
	}
	s1, err1 := e.MatchingScopes(old, scopes)
	s2, err2 := e.MatchingScopes(cur, scopes)
	return err1 == nil && err2 == nil && !slices.EqualFunc(s1, s2, func(a, b corev1.ScopedResourceSelectorRequirement) bool {
		return a.ScopeName == b.ScopeName
	})
}

func (m *monitors) hasSynced() bool {
	for _, s := range m.coreSynced {
		if !s() {
			return false
		}
	}
	return true
}

// watchCount makes sure the registry has an evaluator for a quota resource
// name count/<resource>.<group>: if none does yet, it starts an informer of
// that resource, waits for its first list, and registers an object count
// evaluator that lists from it. Names of other forms, resources that do not
// exist or are not namespaced, and ignored resources are left alone.
func (m *monitors) watchCount(ctx context.Context, registry quota.Registry, name corev1.ResourceName) error {
	rest, ok := strings.CutPrefix(string(name), "count/")
	if !ok || m.mapper == nil {
		return nil
	}
	gr := schema.ParseGroupResource(rest)
	if _, ignored := quotaeval.Ignored()[gr]; ignored {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if registry.Get(gr) != nil {
		return nil
	}
	// Quotas naming a resource that does not exist would otherwise reset
	// the discovery cache on every sync.
	if at, ok := m.unknown[gr]; ok && m.clock.Since(at) < unknownRetry {
		return nil
	}
	gvr, err := m.resolve(gr)
	if err != nil {
		return err
	}
	if gvr.Empty() {
		m.unknown[gr] = m.clock.Now()
		return nil
	}
	delete(m.unknown, gr)
	inf, err := m.factory.ForResource(gvr)
	start := m.factory.Start
	if err != nil {
		if m.metadata == nil {
			return nil
		}
		inf, start = m.metadata.ForResource(gvr), m.metadata.Start
	}
	e := generic.NewObjectCountEvaluator(gr, func(ns string) ([]runtime.Object, error) {
		return inf.Lister().ByNamespace(ns).List(labels.Everything())
	}, "")
	if _, err := m.watch(inf.Informer(), e); err != nil {
		return err
	}
	start(ctx.Done())
	wait, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(wait.Done(), inf.Informer().HasSynced) {
		return fmt.Errorf("resourcequota: informer for %s did not sync", gvr)
	}
	registry.Add(e)
	klog.FromContext(ctx).V(2).Info("Counting resource for quotas", "resource", gvr)
	return nil
}

// resolve returns the preferred version of a namespaced resource, or an
// empty one if there is no such namespaced resource. A resource unknown to
// the mapper's cached discovery is looked up again once (it may be a new
// custom resource).
func (m *monitors) resolve(gr schema.GroupResource) (schema.GroupVersionResource, error) {
	gvr, err := m.mapper.ResourceFor(gr.WithVersion(""))
	if meta.IsNoMatchError(err) {
		if r, ok := m.mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
			gvr, err = m.mapper.ResourceFor(gr.WithVersion(""))
		}
	}
	if meta.IsNoMatchError(err) {
		return schema.GroupVersionResource{}, nil
	}
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("resourcequota: resolve %s: %w", gr, err)
	}
	gvk, err := m.mapper.KindFor(gvr)
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("resourcequota: kind of %s: %w", gvr, err)
	}
	mapping, err := m.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("resourcequota: mapping of %s: %w", gvk, err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return schema.GroupVersionResource{}, nil
	}
	return gvr, nil
}
