package namespace

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
)

const (
	// finalizerWait is the time allowed, per pass, for finalizers on remaining
	// objects to finish their work.
	finalizerWait = 15 * time.Second
	// confirmWait is the time allowed for an object whose graceful deletion
	// period is over but which is still there, such as a pod whose node
	// agent has not yet confirmed its containers stopped.
	confirmWait = 2 * time.Second
)

// sweep is what one pass over a namespace's content did and found.
type sweep struct {
	// discoveryErr and parseErr mean some resources may have been missed.
	discoveryErr, parseErr error
	// deleteErrs are the resources whose content could not be deleted.
	deleteErrs []error
	// remaining counts the objects still in the namespace, per resource.
	remaining map[schema.GroupResource]int
	// finalizers counts the remaining objects held by each finalizer.
	finalizers map[string]int
	// wait estimates how long the remaining objects need to go.
	wait time.Duration
}

// err reports every failure of the pass; nil means it saw all resources and
// deleted what it could.
func (s *sweep) err() error {
	return errors.Join(append([]error{s.discoveryErr, s.parseErr}, s.deleteErrs...)...)
}

// remains reports whether objects are still in the namespace.
func (s *sweep) remains() bool {
	return len(s.remaining) > 0
}

// add records what is left of one resource after deleting its objects.
func (s *sweep) add(gr schema.GroupResource, left leftover, err error) {
	if err != nil {
		s.deleteErrs = append(s.deleteErrs, err)
	}
	if left.count == 0 {
		return
	}
	s.remaining[gr] += left.count
	for f, n := range left.finalizers {
		s.finalizers[f] += n
	}
	s.wait = max(s.wait, left.wait)
}

// sweep deletes the content of a terminating namespace: pods first, and
// everything else only once no pod is left.
func (c *Controller) sweep(ctx context.Context, ns *corev1.Namespace) *sweep {
	logger := klog.FromContext(ctx)
	d := c.resources.get(ctx, ns.DeletionTimestamp.Time)
	s := &sweep{
		discoveryErr: d.discoveryErr,
		parseErr:     d.parseErr,
		remaining:    map[schema.GroupResource]int{},
		finalizers:   map[string]int{},
	}

	var others []resource
	for _, r := range d.resources {
		if r.gvr.Group == "" && r.gvr.Resource == "pods" {
			left, err := c.clear(ctx, r, ns.Name)
			s.add(r.gvr.GroupResource(), left, err)
			continue
		}
		others = append(others, r)
	}
	if s.remains() || len(s.deleteErrs) > 0 {
		logger.V(4).Info("Waiting for pods before deleting other namespace content", "namespace", klog.KObj(ns), "pods", s.remaining[schema.GroupResource{Resource: "pods"}])
		return s
	}
	for _, r := range others {
		left, err := c.clear(ctx, r, ns.Name)
		s.add(r.gvr.GroupResource(), left, err)
	}
	logger.V(4).Info("Swept namespace content", "namespace", klog.KObj(ns), "resources", len(d.resources), "remaining", len(s.remaining), "wait", s.wait)
	return s
}

// leftover is what remains of one resource in a namespace after a delete.
type leftover struct {
	count      int
	finalizers map[string]int
	wait       time.Duration
}

// clear deletes every object of one resource in the namespace, then checks
// what is left. Remaining objects that are not on their way out are an error:
// the next pass deletes them.
func (c *Controller) clear(ctx context.Context, r resource, ns string) (leftover, error) {
	logger := klog.FromContext(ctx)
	client := c.metadata.Resource(r.gvr).Namespace(ns)
	// Background propagation keeps the garbage collector from adding the
	// orphan finalizer, which would hold the object and so the namespace.
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}

	oneByOne := !r.deleteCollection
	if r.deleteCollection {
		err := client.DeleteCollection(ctx, opts, metav1.ListOptions{})
		switch {
		case err == nil:
		case unsupported(err):
			logger.V(5).Info("Collection delete not supported", "resource", r.gvr)
			oneByOne = true
		default:
			return leftover{}, fmt.Errorf("delete collection of %s: %w", r.gvr.GroupResource(), err)
		}
	}
	if !r.list {
		// Nothing to check with; deletecollection was all that could be done.
		return leftover{}, nil
	}

	items, err := c.list(ctx, r, ns)
	if err != nil || len(items) == 0 {
		return leftover{}, err
	}
	if oneByOne && r.delete {
		deleted := 0
		for i := range items {
			if items[i].DeletionTimestamp != nil {
				continue // already on its way out
			}
			err := client.Delete(ctx, items[i].Name, opts)
			if err != nil && !unsupported(err) {
				return leftover{}, fmt.Errorf("delete %s %s: %w", r.gvr.GroupResource(), items[i].Name, err)
			}
			deleted++
		}
		if deleted > 0 {
			if items, err = c.list(ctx, r, ns); err != nil || len(items) == 0 {
				return leftover{}, err
			}
		}
	}
	return c.measure(r, items)
}

// list returns the objects of one resource in the namespace. A resource the
// server no longer serves has none, and makes the next pass rediscover.
func (c *Controller) list(ctx context.Context, r resource, ns string) ([]metav1.PartialObjectMetadata, error) {
	list, err := c.metadata.Resource(r.gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if unsupported(err) {
		c.resources.invalidate()
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.gvr.GroupResource(), err)
	}
	return list.Items, nil
}

// measure summarizes the objects that survived a delete and estimates how
// long they need to go.
func (c *Controller) measure(r resource, items []metav1.PartialObjectMetadata) (leftover, error) {
	now := c.clock.Now()
	left := leftover{count: len(items), finalizers: map[string]int{}}
	stray := 0
	for i := range items {
		item := &items[i]
		for _, f := range item.Finalizers {
			left.finalizers[f]++
		}
		var wait time.Duration
		switch {
		case item.DeletionTimestamp != nil && item.DeletionTimestamp.After(now):
			wait = item.DeletionTimestamp.Sub(now) // graceful deletion in progress
		case len(item.Finalizers) > 0:
			wait = finalizerWait
		case item.DeletionTimestamp != nil:
			wait = confirmWait
		default:
			stray++
		}
		left.wait = max(left.wait, wait)
	}
	if stray > 0 {
		return left, fmt.Errorf("%d %s remain that are not being deleted", stray, r.gvr.GroupResource())
	}
	return left, nil
}

// unsupported reports errors that mean the server does not offer the call
// for the resource (any more): the verb is not allowed or the resource is gone.
func unsupported(err error) bool {
	return apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err)
}
