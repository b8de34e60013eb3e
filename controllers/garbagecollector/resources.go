package garbagecollector

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// ignored are resources whose objects never own anything and are too busy
// to be worth watching, as upstream.
var ignored = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// apiResource is one resource the server serves, in its preferred version.
type apiResource struct {
	gvr        schema.GroupVersionResource
	kind       schema.GroupKind
	namespaced bool
	// watchable: the collector can list, watch and delete its objects.
	watchable bool
}

// resources is one discovery's view of the server: every resource by the
// kind an owner reference names, and which of them the collector watches.
type resources struct {
	byKind map[schema.GroupKind]apiResource
	// complete is false when some groups could not be discovered: resources
	// missing from the view may still be served.
	complete bool
}

// watched returns the resources whose objects the collector watches.
func (r resources) watched() map[schema.GroupVersionResource]apiResource {
	out := map[schema.GroupVersionResource]apiResource{}
	for _, res := range r.byKind {
		if res.watchable {
			out[res.gvr] = res
		}
	}
	return out
}

// discover asks the server which resources it serves. A partial answer
// (some groups failed) is returned with complete unset; an error means
// nothing usable came back.
func discover(ctx context.Context, d discovery.DiscoveryInterfaceWithContext) (resources, error) {
	lists, err := discovery.ServerPreferredResourcesWithContext(ctx, d)
	complete := err == nil
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return resources{}, fmt.Errorf("discover resources: %w", err)
	}
	r := resources{byKind: map[schema.GroupKind]apiResource{}, complete: complete}
	for _, list := range lists {
		if list == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			r.complete = false
			continue
		}
		for _, api := range list.APIResources {
			if strings.Contains(api.Name, "/") {
				continue // a subresource
			}
			gvr := gv.WithResource(api.Name)
			res := apiResource{
				gvr:        gvr,
				kind:       schema.GroupKind{Group: gv.Group, Kind: api.Kind},
				namespaced: api.Namespaced,
				watchable: !ignored[gvr.GroupResource()] &&
					hasVerbs(api.Verbs, "list", "watch", "delete"),
			}
			r.byKind[res.kind] = res
		}
	}
	return r, nil
}

func hasVerbs(verbs metav1.Verbs, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(verbs, w) {
			return false
		}
	}
	return true
}

// kindMap resolves the kinds owner references name to resources. It is
// safe for concurrent use; set replaces its content after a discovery.
type kindMap struct {
	mu     sync.RWMutex
	byKind map[schema.GroupKind]apiResource
	// missed remembers when each unknown kind last asked for a discovery.
	missed map[schema.GroupKind]time.Time
}

// firstMiss reports whether the unknown kind of apiVersion and kind has not
// asked for a discovery within every, and records that it asks now: a kind
// that stays unknown (a removed API) asks once per every, not per lookup.
func (m *kindMap) firstMiss(apiVersion, kind string, now time.Time, every time.Duration) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return false
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: kind}
	m.mu.Lock()
	defer m.mu.Unlock()
	if last, ok := m.missed[gk]; ok && now.Sub(last) < every {
		return false
	}
	if m.missed == nil {
		m.missed = map[schema.GroupKind]time.Time{}
	}
	m.missed[gk] = now
	return true
}

// set replaces the map with the resources of r. After a partial discovery
// the kinds it missed are kept.
func (m *kindMap) set(r resources) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := maps.Clone(r.byKind)
	if !r.complete {
		for k, v := range m.byKind {
			if _, ok := next[k]; !ok {
				next[k] = v
			}
		}
	}
	m.byKind = next
}

// errUnknownKind is wrapped by lookup errors for kinds the server is not
// known to serve. Such references are never treated as dangling: the kind
// may appear (a CRD being established).
var errUnknownKind = fmt.Errorf("kind not served")

// resolve returns the resource an owner reference's apiVersion and kind
// name.
func (m *kindMap) resolve(apiVersion, kind string) (apiResource, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return apiResource{}, fmt.Errorf("owner apiVersion %q: %w", apiVersion, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	res, ok := m.byKind[schema.GroupKind{Group: gv.Group, Kind: kind}]
	if !ok {
		return apiResource{}, fmt.Errorf("%w: %s %s", errUnknownKind, apiVersion, kind)
	}
	return res, nil
}
