// Package cronjob creates Jobs on a schedule, as upstream's CronJob
// controller does.
//
// Each CronJob is synced when it or one of its Jobs changes, and again just
// after its next start time: the queue holds it until then, so no loop
// polls all CronJobs. A sync:
//
//   - deletes the oldest finished Jobs beyond successfulJobsHistoryLimit and
//     failedJobsHistoryLimit (SuccessfulDelete);
//   - reconciles status.active with the Jobs the CronJob controls (finished
//     ones leave it with SawCompletedJob, vanished ones with MissingJob) and
//     keeps status.lastSuccessfulTime;
//   - unless the CronJob is suspended, being deleted, or its schedule or
//     time zone is unusable, finds the most recent missed start time. One
//     older than startingDeadlineSeconds is skipped (MissSchedule); more
//     than 100 missed ones are warned about (TooManyMissedTimes) and only
//     the last is run. With concurrencyPolicy Forbid an active Job blocks
//     the start (JobAlreadyActive); with Replace the active Jobs are deleted
//     first. The Job is named <cronjob>-<start time in minutes since the
//     epoch>, annotated with batch.kubernetes.io/cronjob-scheduled-timestamp,
//     added to status.active, and the start time becomes
//     status.lastScheduleTime (SuccessfulCreate).
package cronjob

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// byController indexes Jobs by the UID of the CronJob that controls them.
const byController = "cronjob-controller-uid"

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid cronjob controller config")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client creates and deletes Jobs and writes CronJob status.
	Client kubernetes.Interface
	// CronJobs and Jobs are the shared informers.
	CronJobs batchinformers.CronJobInformer
	Jobs     batchinformers.JobInformer
	// Events records Job creations, deletions and schedule problems. Zero
	// value: none are recorded.
	Events record.EventRecorder
	// Clock says what time it is. Zero value: the real clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, fmt.Errorf("%w: Client is required", ErrInvalidConfig))
	}
	if c.CronJobs == nil || c.Jobs == nil {
		errs = append(errs, fmt.Errorf("%w: CronJobs and Jobs are required", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller runs CronJobs. Build it with New and start it with Run.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobs     cache.Indexer
	events   record.EventRecorder
	clock    clock.PassiveClock
	loop     *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered on the informers. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{client: cfg.Client, cronJobs: cfg.CronJobs.Lister(), events: cfg.Events, clock: cfg.Clock}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.loop = loop.New("cronjob-controller", c.sync)

	jobs := cfg.Jobs.Informer()
	if _, ok := jobs.GetIndexer().GetIndexers()[byController]; !ok {
		err := jobs.AddIndexers(cache.Indexers{byController: func(obj any) ([]string, error) {
			j, ok := obj.(*batchv1.Job)
			if !ok {
				return nil, nil
			}
			if ref := metav1.GetControllerOfNoCopy(j); ref != nil && ref.Kind == "CronJob" {
				return []string{string(ref.UID)}, nil
			}
			return nil, nil
		}})
		if err != nil {
			return nil, fmt.Errorf("cronjob-controller: index jobs: %w", err)
		}
	}
	c.jobs = jobs.GetIndexer()
	if err := loop.Watch(c.loop, jobs, c.owner, true); err != nil {
		return nil, err
	}

	cronJobs := cfg.CronJobs.Informer()
	reg, err := cronJobs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: c.cronJobUpdated,
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return nil, fmt.Errorf("cronjob-controller: add event handler: %w", err)
	}
	c.loop.WaitFor(cronJobs.HasSynced, reg.HasSynced)
	return c, nil
}

// Run syncs CronJobs with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func (c *Controller) enqueue(obj any) {
	for _, k := range loop.OwnKey(obj) {
		c.loop.Add(k)
	}
}

// cronJobUpdated syncs a CronJob at once, except when its schedule or time
// zone changed: then at its next start time under the new schedule.
func (c *Controller) cronJobUpdated(old, cur any) {
	o, ok1 := old.(*batchv1.CronJob)
	n, ok2 := cur.(*batchv1.CronJob)
	if !ok1 || !ok2 || (o.Spec.Schedule == n.Spec.Schedule && ptr.Equal(o.Spec.TimeZone, n.Spec.TimeZone)) {
		c.enqueue(cur)
		return
	}
	sched, err := parse(n)
	if err != nil {
		c.events.Eventf(n, "Warning", "UnParseableCronJobSchedule", "unparseable schedule for cronjob: %s", n.Spec.Schedule)
		return
	}
	for _, k := range loop.OwnKey(n) {
		c.loop.AddAfter(k, untilNext(n, c.clock.Now(), sched))
	}
}

// owner is the key of the CronJob that controls a Job, if it exists.
func (c *Controller) owner(obj any) []string {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return nil
	}
	ref := metav1.GetControllerOfNoCopy(j)
	if ref == nil || ref.Kind != "CronJob" {
		return nil
	}
	cj, err := c.cronJobs.CronJobs(j.Namespace).Get(ref.Name)
	if err != nil || cj.UID != ref.UID {
		return nil
	}
	return []string{j.Namespace + "/" + ref.Name}
}

// sync brings the CronJob key names up to date, and queues it again for its
// next start time.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cj, err := c.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	next, err := c.syncCronJob(ctx, cj)
	if next > 0 {
		c.loop.AddAfter(key, next)
	}
	return err
}

// jobsOf returns the Jobs the CronJob controls.
func (c *Controller) jobsOf(cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	objs, err := c.jobs.ByIndex(byController, string(cj.UID))
	if err != nil {
		return nil, err
	}
	jobs := make([]*batchv1.Job, 0, len(objs))
	for _, o := range objs {
		if j, ok := o.(*batchv1.Job); ok {
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// deleteJob deletes a Job of the CronJob in the background and drops it from
// status.active, recording the outcome.
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, j *batchv1.Job) bool {
	err := c.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
	})
	if err != nil && !apierrors.IsNotFound(err) {
		c.events.Eventf(cj, "Warning", "FailedDelete", "Deleted job: %v", err)
		klog.FromContext(ctx).Error(err, "Delete job of cronjob", "job", klog.KObj(j), "cronjob", klog.KObj(cj))
		return false
	}
	removeActive(cj, j.UID)
	c.events.Eventf(cj, "Normal", "SuccessfulDelete", "Deleted job %v", j.Name)
	return true
}

func removeActive(cj *batchv1.CronJob, uid types.UID) {
	active := cj.Status.Active[:0:0]
	for _, r := range cj.Status.Active {
		if r.UID != uid {
			active = append(active, r)
		}
	}
	cj.Status.Active = active
}

func isActive(cj *batchv1.CronJob, uid types.UID) bool {
	for _, r := range cj.Status.Active {
		if r.UID == uid {
			return true
		}
	}
	return false
}
