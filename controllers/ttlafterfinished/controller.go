// Package ttlafterfinished deletes finished Jobs once their
// spec.ttlSecondsAfterFinished has passed, as upstream's TTL-after-finished
// controller does.
//
// A Job is finished when it has a Complete or Failed condition that is
// True; its finish time is that condition's lastTransitionTime. Until the
// TTL expires the Job is queued for the moment it does. Then the Job is read
// again from the server (the cache may be stale, and the TTL may have been
// changed) and deleted with foreground propagation, bound to the uid and
// resourceVersion that were checked, so its pods go first.
package ttlafterfinished

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid ttl-after-finished controller config")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client reads and deletes Jobs.
	Client kubernetes.Interface
	// Jobs is the shared Job informer.
	Jobs batchinformers.JobInformer
	// Clock tells when a TTL expires. Zero value: the real clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, fmt.Errorf("%w: Client is required", ErrInvalidConfig))
	}
	if c.Jobs == nil {
		errs = append(errs, fmt.Errorf("%w: Jobs is required", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller deletes finished Jobs whose TTL expired. Build it with New and
// start it with Run.
type Controller struct {
	client kubernetes.Interface
	jobs   batchlisters.JobLister
	clock  clock.PassiveClock
	loop   *loop.Loop
}

// New validates cfg and returns a controller whose event handler is
// registered on the Job informer. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{client: cfg.Client, jobs: cfg.Jobs.Lister(), clock: cfg.Clock}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("ttl-after-finished-controller", c.sync)
	err := loop.Watch(c.loop, cfg.Jobs.Informer(), func(obj any) []string {
		j, ok := obj.(*batchv1.Job)
		if !ok || j.DeletionTimestamp != nil || j.Spec.TTLSecondsAfterFinished == nil {
			return nil
		}
		if _, finished := finishTime(j); !finished {
			return nil
		}
		key, err := cache.MetaNamespaceKeyFunc(j)
		if err != nil {
			return nil
		}
		return []string{key}
	}, false)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs Jobs with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// sync deletes the Job key names if its TTL expired, or queues it for when
// it will.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	j, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if left, expired := c.left(j); !expired {
		if left > 0 {
			c.loop.AddAfter(key, left)
		}
		return nil
	}
	// The cache may be stale and the TTL may have changed: check again on
	// the server, then delete exactly what was checked.
	fresh, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if left, expired := c.left(fresh); !expired {
		if left > 0 {
			c.loop.AddAfter(key, left)
		}
		return nil
	}
	policy := metav1.DeletePropagationForeground
	err = c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion},
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete job %s: %w", key, err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted finished job after its TTL", "job", klog.KObj(fresh))
	return nil
}

// left returns how long until the Job's TTL expires and whether it has. A
// Job that is being deleted, unfinished, or has no TTL never expires (and
// left is zero).
func (c *Controller) left(j *batchv1.Job) (time.Duration, bool) {
	if j.DeletionTimestamp != nil || j.Spec.TTLSecondsAfterFinished == nil {
		return 0, false
	}
	at, finished := finishTime(j)
	if !finished {
		return 0, false
	}
	left := at.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second).Sub(c.clock.Now())
	if left <= 0 {
		return 0, true
	}
	return left, false
}

// finishTime returns when the Job finished: the lastTransitionTime of its
// True Complete or Failed condition.
func finishTime(j *batchv1.Job) (time.Time, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}
