// Package endpoints implements the Endpoints controller: for every Service
// with a selector it keeps a core/v1 Endpoints object of the same name that
// lists the pods the selector matches, as upstream's endpoint controller.
//
// Each sync of a Service, level-triggered and keyed by namespace/name:
//   - A Service that is gone has its Endpoints deleted. ExternalName
//     Services and Services without a selector are left alone: their
//     Endpoints, if any, are the user's (the kubernetes Service in default
//     is one; the API server writes its Endpoints).
//   - Every matching pod that has an IP of the Service's first IP family and
//     has not finished is an address: ready if the pod is Ready (or the
//     Service sets publishNotReadyAddresses), not ready otherwise. Pods being
//     deleted are left out unless publishNotReadyAddresses is set. An address
//     carries the pod's IP, node name and a targetRef to the pod, and the
//     pod's hostname when its subdomain names the Service.
//   - Each service port is resolved per pod (a named targetPort against the
//     pod's container ports); addresses with the same ports share a subset.
//     A headless Service without ports lists bare addresses.
//   - The Endpoints carry the Service's labels, service.kubernetes.io/headless
//     for a headless Service, endpoints.kubernetes.io/managed-by:
//     endpoint-controller, and the endpoints.kubernetes.io/last-change-trigger-time
//     annotation. Past 1000 addresses they are truncated and annotated
//     endpoints.kubernetes.io/over-capacity: truncated.
//   - The object is written only when it changed.
//
// Events: FailedToCreateEndpoint and FailedToUpdateEndpoint on the Endpoints.
package endpoints

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/servicepods"
)

const (
	// ControllerName is the value of LabelManagedBy on the Endpoints this
	// controller writes.
	ControllerName = "endpoint-controller"
	// LabelManagedBy marks Endpoints written by a controller.
	LabelManagedBy = "endpoints.kubernetes.io/managed-by"
	// MaxAddresses is how many addresses one Endpoints object holds at most.
	MaxAddresses = 1000
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid endpoints controller config")

// Config holds what the controller needs; every field but Events is
// required. The informers are shared ones that the caller starts.
type Config struct {
	// Client writes Endpoints.
	Client    kubernetes.Interface
	Services  coreinformers.ServiceInformer
	Pods      coreinformers.PodInformer
	Endpoints coreinformers.EndpointsInformer
	// Events records failed writes. Zero value: none are recorded.
	Events record.EventRecorder
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	if c.Client == nil || c.Services == nil || c.Pods == nil || c.Endpoints == nil {
		return fmt.Errorf("%w: Client, Services, Pods and Endpoints are required", ErrInvalidConfig)
	}
	return nil
}

// Controller keeps the Endpoints of Services with selectors. Build it with
// New and start it with Run.
type Controller struct {
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	events    record.EventRecorder
	triggers  servicepods.TriggerTimes
	loop      *loop.Loop
	synced    []cache.InformerSynced

	// replaced remembers, per key, the resourceVersion of the Endpoints this
	// controller last replaced: seeing it again in the cache means the
	// cache is behind.
	mu       sync.Mutex
	replaced map[string]string
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client:    cfg.Client,
		services:  cfg.Services.Lister(),
		pods:      cfg.Pods.Lister(),
		endpoints: cfg.Endpoints.Lister(),
		events:    cfg.Events,
		replaced:  map[string]string{},
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	c.loop = loop.New("endpoint-controller", c.sync)
	if err := servicepods.Watch(c.loop, cfg.Services, cfg.Pods); err != nil {
		return nil, err
	}
	// Endpoints deleted by someone else are written again.
	reg, err := cfg.Endpoints.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.loop.Add(key)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("endpoint-controller: add endpoints event handler: %w", err)
	}
	c.loop.WaitFor(cfg.Endpoints.Informer().HasSynced, reg.HasSynced)
	c.synced = []cache.InformerSynced{cfg.Endpoints.Informer().HasSynced, cfg.Services.Informer().HasSynced}
	return c, nil
}

// Run syncs Services with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error {
	go c.queueLeftovers(ctx)
	return c.loop.Run(ctx, workers)
}

// queueLeftovers queues, once the caches are synced, the Endpoints this
// controller wrote whose Service is gone: a Service deleted while the
// controller was not running left them behind. (Upstream looks at every
// Endpoints; only this controller's own are considered here, so that a
// user's Endpoints written before their Service survive a restart.)
func (c *Controller) queueLeftovers(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	list, err := c.endpoints.List(labels.SelectorFromValidatedSet(labels.Set{LabelManagedBy: ControllerName}))
	if err != nil {
		return
	}
	for _, ep := range list {
		if _, err := c.services.Services(ep.Namespace).Get(ep.Name); apierrors.IsNotFound(err) {
			c.loop.Add(ep.Namespace + "/" + ep.Name)
		}
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	logger := klog.FromContext(ctx)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.triggers.Forget(key)
		c.forgetReplaced(key)
		err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints %s: %w", key, err)
		}
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
	cur, err := c.endpoints.Endpoints(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		cur = nil
	case err != nil:
		return err
	case c.isReplaced(key, cur.ResourceVersion):
		return fmt.Errorf("endpoints %s: cache is behind, resourceVersion %s was already replaced", key, cur.ResourceVersion)
	}
	// Computed on every sync that gets this far, so that what it remembers
	// stays current even when nothing is written.
	trigger := c.triggers.Compute(svc, pods)
	want := subsets(logger, svc, pods)
	truncated := truncate(want, MaxAddresses)
	wantLabels := endpointsLabels(svc)
	if cur != nil && equality.Semantic.DeepEqual(cur.Subsets, want) && equality.Semantic.DeepEqual(cur.Labels, wantLabels) &&
		(cur.Annotations[corev1.EndpointsOverCapacity] != "") == truncated {
		return nil
	}

	next := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if cur != nil {
		next = cur.DeepCopy()
	}
	next.Subsets = want
	next.Labels = wantLabels
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	if !trigger.IsZero() {
		next.Annotations[corev1.EndpointsLastChangeTriggerTime] = trigger.UTC().Format(time.RFC3339Nano)
	} else {
		delete(next.Annotations, corev1.EndpointsLastChangeTriggerTime)
	}
	if truncated {
		next.Annotations[corev1.EndpointsOverCapacity] = "truncated"
	} else {
		delete(next.Annotations, corev1.EndpointsOverCapacity)
	}

	if cur == nil {
		_, err = c.client.CoreV1().Endpoints(ns).Create(ctx, next, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // creates keep failing until the namespace is gone
			}
			c.events.Eventf(next, corev1.EventTypeWarning, "FailedToCreateEndpoint", "Failed to create endpoint for service %s: %v", key, err)
			return fmt.Errorf("create endpoints %s: %w", key, err)
		}
		logger.V(2).Info("Created endpoints", "service", klog.KObj(svc))
		return nil
	}
	updated, err := c.client.CoreV1().Endpoints(ns).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		c.events.Eventf(next, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %s: %v", key, err)
		return fmt.Errorf("update endpoints %s: %w", key, err)
	}
	if updated.ResourceVersion != cur.ResourceVersion {
		c.markReplaced(key, cur.ResourceVersion)
	}
	logger.V(2).Info("Updated endpoints", "service", klog.KObj(svc))
	return nil
}

// endpointsLabels returns the labels the Endpoints of svc carry.
func endpointsLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+2)
	for k, v := range svc.Labels {
		out[k] = v
	}
	delete(out, corev1.IsHeadlessService)
	if servicepods.Headless(svc) {
		out[corev1.IsHeadlessService] = ""
	}
	out[LabelManagedBy] = ControllerName
	return out
}

func (c *Controller) isReplaced(key, rv string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replaced[key] == rv
}

func (c *Controller) markReplaced(key, rv string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replaced[key] = rv
}

func (c *Controller) forgetReplaced(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.replaced, key)
}
