package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// Defaults for the back-off between pod re-creations after failures.
const (
	DefaultBackoff    = 10 * time.Second
	DefaultMaxBackoff = 6 * time.Minute
)

// maxPodsPerSync caps the pods one sync creates or deletes, as upstream.
const maxPodsPerSync = 500

// byController is the pod index this package adds to the pod informer:
// pods by the uid of their Job controller, and pods without a controller by
// orphansOf(namespace).
const byController = "job.kubelite.io/controller"

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid job controller config")

var jobKind = batchv1.SchemeGroupVersion.WithKind("Job")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client creates, patches and deletes pods and writes Job status.
	Client kubernetes.Interface
	// Jobs is the shared Job informer.
	Jobs batchinformers.JobInformer
	// Pods is the shared pod informer; the controller adds an index to it,
	// so New must be called before the informer starts.
	Pods coreinformers.PodInformer
	// Events records pod creations and the Job's progress. Zero value: none
	// are recorded.
	Events record.EventRecorder
	// Clock times deadlines, back-off and conditions. Zero value: the real
	// clock.
	Clock clock.PassiveClock
	// Backoff is the wait before a pod is re-created after the first
	// failure; it doubles with each further failure. Zero value:
	// DefaultBackoff.
	Backoff time.Duration
	// MaxBackoff caps that wait. Zero value: DefaultMaxBackoff.
	MaxBackoff time.Duration
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
	if c.Pods == nil {
		errs = append(errs, fmt.Errorf("%w: Pods is required", ErrInvalidConfig))
	}
	if c.Backoff < 0 || c.MaxBackoff < 0 {
		errs = append(errs, fmt.Errorf("%w: Backoff and MaxBackoff must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller runs the pods of every Job. Build it with New and start it
// with Run.
type Controller struct {
	client     kubernetes.Interface
	jobs       batchlisters.JobLister
	pods       cache.Indexer
	events     record.EventRecorder
	clock      clock.PassiveClock
	backoff    time.Duration
	maxBackoff time.Duration
	memory     *memory
	loop       *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client: cfg.Client, jobs: cfg.Jobs.Lister(), events: cfg.Events, clock: cfg.Clock,
		backoff: cfg.Backoff, maxBackoff: cfg.MaxBackoff,
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.backoff == 0 {
		c.backoff = DefaultBackoff
	}
	if c.maxBackoff == 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	c.memory = newMemory(c.clock)
	c.loop = loop.New("job-controller", c.sync)

	pods := cfg.Pods.Informer()
	if _, ok := pods.GetIndexer().GetIndexers()[byController]; !ok {
		if err := pods.AddIndexers(cache.Indexers{byController: controllerIndex}); err != nil {
			return nil, fmt.Errorf("job-controller: index pods: %w", err)
		}
	}
	c.pods = pods.GetIndexer()
	jobs := cfg.Jobs.Informer()
	reg, err := jobs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.jobChanged,
		UpdateFunc: func(_, cur any) { c.jobChanged(cur) },
		DeleteFunc: c.jobDeleted,
	})
	if err != nil {
		return nil, fmt.Errorf("job-controller: add job event handler: %w", err)
	}
	c.loop.WaitFor(jobs.HasSynced, reg.HasSynced)
	reg, err = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podChanged(nil, obj) },
		UpdateFunc: c.podChanged,
		DeleteFunc: c.podDeleted,
	})
	if err != nil {
		return nil, fmt.Errorf("job-controller: add pod event handler: %w", err)
	}
	c.loop.WaitFor(pods.HasSynced, reg.HasSynced)
	return c, nil
}

// Run syncs Jobs with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func controllerIndex(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	ref := metav1.GetControllerOfNoCopy(p)
	switch {
	case ref == nil:
		return []string{orphansOf(p.Namespace)}, nil
	case ref.Kind == jobKind.Kind:
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

func (c *Controller) jobChanged(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	if isFinished(j) {
		c.memory.finishSeen(j.UID)
	}
	c.loop.Add(j.Namespace + "/" + j.Name)
}

func (c *Controller) jobDeleted(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	c.memory.finishSeen(j.UID)
	c.loop.Add(j.Namespace + "/" + j.Name)
	// Its pods may still carry the tracking finalizer.
	pods, _ := c.pods.ByIndex(byController, string(j.UID))
	for _, obj := range pods {
		if p, ok := obj.(*corev1.Pod); ok && hasFinalizer(p) {
			c.loop.Add(orphanKey(p))
		}
	}
}

// podChanged records what a pod's add or update means to the expectations
// of its Job and queues the Job.
func (c *Controller) podChanged(oldObj, obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	old, _ := oldObj.(*corev1.Pod)
	if old != nil && old.ResourceVersion == p.ResourceVersion {
		return
	}
	ref := metav1.GetControllerOfNoCopy(p)
	if old != nil {
		if oldRef := metav1.GetControllerOfNoCopy(old); oldRef != nil && (ref == nil || oldRef.UID != ref.UID) {
			if key := c.keyOf(p.Namespace, oldRef); key != "" {
				c.loop.Add(key)
			}
		}
	}
	key := ""
	if ref != nil {
		key = c.keyOf(p.Namespace, ref)
	}
	if key == "" {
		if hasFinalizer(p) {
			c.loop.Add(orphanKey(p))
		}
		if ref == nil && p.DeletionTimestamp == nil {
			for _, k := range c.matchingJobs(p) {
				c.loop.Add(k) // may adopt it
			}
		}
		return
	}
	switch {
	case old == nil:
		c.memory.created(key)
		if p.DeletionTimestamp != nil {
			c.memory.deleted(key)
		}
	case p.DeletionTimestamp != nil && old.DeletionTimestamp == nil:
		c.memory.deleted(key)
	}
	if !hasFinalizer(p) {
		c.memory.finalizerGone(key, p.UID)
	}
	c.loop.Add(key)
}

// podDeleted records a deleted pod with its Job and queues the Job.
func (c *Controller) podDeleted(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil {
		return
	}
	if key := c.keyOf(p.Namespace, ref); key != "" {
		if p.DeletionTimestamp == nil {
			c.memory.deleted(key)
		}
		c.memory.finalizerGone(key, p.UID)
		c.loop.Add(key)
	}
}

// keyOf returns the key of the Job a controller reference names, if it is
// in the cache with that uid.
func (c *Controller) keyOf(ns string, ref *metav1.OwnerReference) string {
	if ref.Kind != jobKind.Kind || !isBatchAPIVersion(ref.APIVersion) {
		return ""
	}
	j, err := c.jobs.Jobs(ns).Get(ref.Name)
	if err != nil || j.UID != ref.UID {
		return ""
	}
	return ns + "/" + ref.Name
}

func isBatchAPIVersion(v string) bool {
	return v == "batch/v1" || v == "batch/v1beta1"
}
