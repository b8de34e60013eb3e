// Package endpointslice implements the EndpointSlice controller: for every
// Service with a selector it keeps discovery.k8s.io/v1 EndpointSlices that
// list the pods the selector matches, as upstream's endpointslice
// controller.
//
// Each sync of a Service, level-triggered and keyed by namespace/name:
//   - ExternalName Services and Services without a selector are left alone
//     (the kubernetes Service in default is one: the API server writes its
//     slice, without this controller's managed-by label). A Service that is
//     gone leaves its slices to the garbage collector: each slice has the
//     Service as its controller owner.
//   - Every matching pod that has an IP and has not finished is an endpoint
//     in a slice of each of the Service's IP families it has an IP of:
//     addresses, targetRef, nodeName, zone (the node's
//     topology.kubernetes.io/zone), hostname (when the pod's subdomain
//     names the Service) and the conditions serving (the pod is Ready),
//     terminating (it is being deleted) and ready (serving and not
//     terminating, or always with publishNotReadyAddresses). A pod whose
//     node is unknown is left out (unless the Service publishes not-ready
//     addresses) and the Service is synced again later.
//   - Pods are grouped by their resolved ports (named targetPorts resolve
//     per pod); each group fills slices of at most MaxEndpointsPerSlice
//     endpoints. Endpoints stay in the slice they are in; new ones go to
//     slices with room first. An address type without endpoints keeps one
//     empty slice. Slices of address types or port sets that are gone, and
//     slices owned by an older Service of the same name, are reused for new
//     content or deleted.
//   - Slices carry the Service's labels, kubernetes.io/service-name,
//     endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io,
//     service.kubernetes.io/headless for headless Services, and on every
//     write the endpoints.kubernetes.io/last-change-trigger-time annotation.
//   - A slice is written only when it changed, and never from a cache that
//     does not yet show the controller's own last writes.
//
// Events: FailedToUpdateEndpointSlices on the Service when a sync fails.
//
// The package also holds the endpointslice-mirroring controller
// (Mirroring), which copies the Endpoints users write for Services without
// a selector into slices. Both plan their writes alike (plan.go) and never
// act on a cache that misses their own writes (tracker.go).
package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/servicepods"
)

const (
	// ControllerName is the value of the managed-by label on the slices
	// this controller writes.
	ControllerName = "endpointslice-controller.k8s.io"
	// DefaultMaxEndpointsPerSlice is Config.MaxEndpointsPerSlice's zero
	// value, as upstream.
	DefaultMaxEndpointsPerSlice = 100
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid endpointslice controller config")

// Config holds what the controller needs; every field without a documented
// zero value is required. The informers are shared ones that the caller
// starts.
type Config struct {
	// Client writes EndpointSlices.
	Client         kubernetes.Interface
	Services       coreinformers.ServiceInformer
	Pods           coreinformers.PodInformer
	Nodes          coreinformers.NodeInformer
	EndpointSlices discoveryinformers.EndpointSliceInformer
	// Events records failed syncs. Zero value: none are recorded.
	Events record.EventRecorder
	// MaxEndpointsPerSlice caps the endpoints of one slice. Zero value:
	// DefaultMaxEndpointsPerSlice.
	MaxEndpointsPerSlice int
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil || c.Services == nil || c.Pods == nil || c.Nodes == nil || c.EndpointSlices == nil {
		errs = append(errs, fmt.Errorf("%w: Client, Services, Pods, Nodes and EndpointSlices are required", ErrInvalidConfig))
	}
	if c.MaxEndpointsPerSlice < 0 || c.MaxEndpointsPerSlice > 1000 {
		errs = append(errs, fmt.Errorf("%w: MaxEndpointsPerSlice must be between 0 and 1000", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller keeps the EndpointSlices of Services with selectors. Build it
// with New and start it with Run.
type Controller struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	events   record.EventRecorder
	max      int
	triggers servicepods.TriggerTimes
	tracker  *tracker
	loop     *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client:   cfg.Client,
		services: cfg.Services.Lister(),
		pods:     cfg.Pods.Lister(),
		nodes:    cfg.Nodes.Lister(),
		slices:   cfg.EndpointSlices.Lister(),
		events:   cfg.Events,
		max:      cfg.MaxEndpointsPerSlice,
		tracker:  newTracker(),
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.max == 0 {
		c.max = DefaultMaxEndpointsPerSlice
	}
	c.loop = loop.New("endpointslice-controller", c.sync)
	if err := servicepods.Watch(c.loop, cfg.Services, cfg.Pods); err != nil {
		return nil, err
	}
	slices := cfg.EndpointSlices.Informer()
	reg, err := c.tracker.watch(slices, ControllerName, c.loop.Add)
	if err != nil {
		return nil, fmt.Errorf("endpointslice-controller: add slice event handler: %w", err)
	}
	c.loop.WaitFor(slices.HasSynced, reg.HasSynced, cfg.Nodes.Informer().HasSynced)
	return c, nil
}

// Run syncs Services with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func (c *Controller) sync(ctx context.Context, key string) error {
	logger := klog.FromContext(ctx)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The garbage collector deletes the slices it owned.
		c.triggers.Forget(key)
		c.tracker.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		return nil
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	existing, err := c.slices.EndpointSlices(ns).List(labels.SelectorFromValidatedSet(labels.Set{
		discoveryv1.LabelServiceName: name,
		discoveryv1.LabelManagedBy:   ControllerName,
	}))
	if err != nil {
		return err
	}
	if c.tracker.stale(key, existing) {
		return fmt.Errorf("endpoint slices of %s: cache does not show this controller's last writes yet", key)
	}
	trigger := c.triggers.Compute(svc, pods)
	d, podErr := want(logger, svc, pods, c.nodes)
	if d == nil {
		return podErr
	}
	p := newPlan(serviceTemplate(svc), d, existing, c.max)
	if err := c.apply(ctx, key, svc, p, trigger); err != nil {
		c.events.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices",
			"Error updating Endpoint Slices for Service %s: %v", key, err)
		return err
	}
	return podErr
}

// apply writes a plan for svc, each written slice with the trigger time.
func (c *Controller) apply(ctx context.Context, key string, svc *corev1.Service, p plan, trigger time.Time) error {
	// A Service being deleted gets no new slices: the garbage collector
	// would race them.
	if svc.DeletionTimestamp != nil {
		p.create = nil
	}
	return writePlan(ctx, c.client, c.tracker, key, svc.Namespace, p, func(s *discoveryv1.EndpointSlice) { annotate(s, trigger) })
}

// writePlan writes a plan of slices in namespace, prepared by prepare: creates
// first, then updates, then deletes, so that no endpoint is missing in
// between. Each write is recorded in t under key.
func writePlan(ctx context.Context, client kubernetes.Interface, t *tracker, key, namespace string, p plan,
	prepare func(*discoveryv1.EndpointSlice)) error {
	logger := klog.FromContext(ctx)
	api := client.DiscoveryV1().EndpointSlices(namespace)
	for _, s := range p.create {
		prepare(s)
		created, err := api.Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return fmt.Errorf("create endpoint slice for %s: %w", key, err)
		}
		t.created(key, created)
		logger.V(2).Info("Created endpoint slice", "key", key, "slice", klog.KObj(created), "endpoints", len(created.Endpoints))
	}
	for _, s := range p.update {
		prepare(s)
		old := s.ResourceVersion
		updated, err := api.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("update endpoint slice %s/%s: %w", s.Namespace, s.Name, err)
		}
		t.updated(key, old, updated)
		logger.V(2).Info("Updated endpoint slice", "key", key, "slice", klog.KObj(updated), "endpoints", len(updated.Endpoints))
	}
	for _, s := range p.delete {
		err := api.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete endpoint slice %s/%s: %w", s.Namespace, s.Name, err)
		}
		if err == nil {
			t.deleted(key, s)
		}
		logger.V(2).Info("Deleted endpoint slice", "key", key, "slice", klog.KObj(s))
	}
	return nil
}

// annotate sets or clears the trigger-time annotation of a slice to write.
func annotate(s *discoveryv1.EndpointSlice, trigger time.Time) {
	if trigger.IsZero() {
		delete(s.Annotations, corev1.EndpointsLastChangeTriggerTime)
		return
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[corev1.EndpointsLastChangeTriggerTime] = trigger.UTC().Format(time.RFC3339Nano)
}
