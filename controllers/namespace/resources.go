package namespace

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/clock"
)

// resourceTTL is how long a successful discovery result is reused. The set of
// resources changes rarely (CRDs come and go), and a result fetched before a
// namespace began terminating is never used for it (see resourceCache.get).
const resourceTTL = time.Minute

// resource is one namespaced resource the controller can empty, with the
// verbs that decide how.
type resource struct {
	gvr schema.GroupVersionResource
	// deleteCollection: the whole namespace's objects go in one call.
	deleteCollection bool
	// list and delete: objects can be listed, then deleted one by one. list
	// is also what checks that nothing remains.
	list, delete bool
}

// discovered is the outcome of one discovery: the resources found, plus the
// errors that mean the list may be incomplete.
type discovered struct {
	resources []resource
	// discoveryErr is set when some API groups could not be discovered.
	discoveryErr error
	// parseErr is set when some group versions could not be parsed.
	parseErr error
}

// resourceCache remembers the namespaced resources the API server offers.
// It is safe for concurrent use.
type resourceCache struct {
	discovery discovery.DiscoveryInterfaceWithContext
	clock     clock.PassiveClock

	mu      sync.Mutex
	last    []resource
	fetched time.Time // zero: nothing cached
}

func newResourceCache(d discovery.DiscoveryInterface, clk clock.PassiveClock) *resourceCache {
	return &resourceCache{discovery: discovery.ToDiscoveryInterfaceWithContext(d), clock: clk}
}

// get returns the resources to empty for a namespace that began terminating
// at since. A cached result serves only if it is younger than resourceTTL and
// was fetched after since: nothing can be created in a terminating namespace,
// so a resource that has objects in it was already served at that time.
// Failed or partial discoveries are returned but never cached.
func (r *resourceCache) get(ctx context.Context, since time.Time) discovered {
	r.mu.Lock()
	defer r.mu.Unlock()

	now := r.clock.Now()
	// Deletion timestamps have whole-second precision: round up.
	if !r.fetched.IsZero() && now.Sub(r.fetched) < resourceTTL && r.fetched.After(since.Add(time.Second)) {
		return discovered{resources: r.last}
	}

	lists, err := discovery.ServerPreferredNamespacedResourcesWithContext(ctx, r.discovery)
	d := discovered{discoveryErr: err}
	d.resources, d.parseErr = deletable(lists)
	if d.discoveryErr == nil && d.parseErr == nil {
		r.last, r.fetched = d.resources, now
	} else {
		r.last, r.fetched = nil, time.Time{}
	}
	return d
}

// invalidate forgets the cached result, so the next get asks the server.
func (r *resourceCache) invalidate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.fetched = nil, time.Time{}
}

// deletable picks, from discovery lists, the resources whose objects can be
// removed: those with "deletecollection", or with both "list" and "delete".
// The result is sorted by group, version and resource. Unparsable group
// versions are skipped and reported in the error.
func deletable(lists []*metav1.APIResourceList) ([]resource, error) {
	var out []resource
	var errs []error
	for _, list := range lists {
		if list == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			errs = append(errs, fmt.Errorf("parse group version %q: %w", list.GroupVersion, err))
			continue
		}
		for _, api := range list.APIResources {
			if !api.Namespaced {
				continue
			}
			r := resource{
				gvr:              gv.WithResource(api.Name),
				deleteCollection: slices.Contains(api.Verbs, "deletecollection"),
				list:             slices.Contains(api.Verbs, "list"),
				delete:           slices.Contains(api.Verbs, "delete"),
			}
			if r.deleteCollection || (r.list && r.delete) {
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, func(a, b resource) int {
		return cmpGVR(a.gvr, b.gvr)
	})
	return out, errors.Join(errs...)
}

func cmpGVR(a, b schema.GroupVersionResource) int {
	return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Resource, b.Resource))
}
