package cronjob

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// tooManyMissed is the number of missed start times past which the
// controller warns (TooManyMissedTimes), as upstream.
const tooManyMissed = 100

// nextDelta is added to each requeue so the sync lands just after a start
// time, not just before it.
const nextDelta = 100 * time.Millisecond

// parse parses the CronJob's schedule in its time zone (spec.timeZone, or
// a TZ/CRON_TZ prefix that validation only lets old objects keep). The
// parser panics on some inputs; that is an error here.
func parse(cj *batchv1.CronJob) (sched cron.Schedule, err error) {
	s := cj.Spec.Schedule
	if tz := cj.Spec.TimeZone; tz != nil && !strings.Contains(s, "TZ") {
		s = "TZ=" + *tz + " " + s
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid schedule format: %v", r)
		}
	}()
	return cron.ParseStandard(s)
}

// missed is what mostRecent found between the last start time and now.
type missed struct {
	// earliest is the time start times are counted from: the last schedule
	// time, the CronJob's creation, or the start of the deadline window.
	earliest time.Time
	// last is the most recent start time not after now; nil if none.
	last *time.Time
	// count is how many start times were missed (at least, when many).
	count int64
}

// mostRecent finds the start times of cj after its last schedule time (or
// creation) up to now. With deadline, start times older than
// startingDeadlineSeconds do not count.
func mostRecent(cj *batchv1.CronJob, now time.Time, sched cron.Schedule, deadline bool) (missed, error) {
	m := missed{earliest: cj.CreationTimestamp.Time}
	if t := cj.Status.LastScheduleTime; t != nil {
		m.earliest = t.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; deadline && d != nil {
		if window := now.Add(-time.Duration(*d) * time.Second); window.After(m.earliest) {
			m.earliest = window
		}
	}
	t1 := sched.Next(m.earliest)
	t2 := sched.Next(t1)
	switch {
	case now.Before(t1):
		return m, nil
	case now.Before(t2):
		m.last, m.count = &t1, 1
		return m, nil
	}
	// Many start times passed: count them by the interval between the
	// first two instead of walking all of them (a CronJob created years ago
	// would take long), then walk only the last few.
	interval := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if interval < 1 {
		return m, errors.New("time difference between two schedules is less than 1 second")
	}
	m.count = int64(now.Sub(t1).Seconds())/interval + 1
	var last time.Time
	for t := sched.Next(t1.Add(time.Duration((m.count-2)*interval) * time.Second)); !t.After(now); t = sched.Next(t) {
		last = t
	}
	if !last.IsZero() {
		m.last = &last
	}
	return m, nil
}

// untilNext is how long from now until the start time after the most
// recent one (plus nextDelta), when the CronJob should be synced again.
func untilNext(cj *batchv1.CronJob, now time.Time, sched cron.Schedule) time.Duration {
	m, err := mostRecent(cj, now, sched, false)
	from := now
	switch {
	case err != nil:
	case m.last != nil:
		from = *m.last
	case m.count == 0:
		from = m.earliest
	}
	return sched.Next(from).Add(nextDelta).Sub(now)
}

// jobName is the name of the Job for a start time: the CronJob's name and
// the start time in minutes since the epoch, so each start time makes at
// most one Job.
func jobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}

// jobFor returns the Job to create for a start time: the template's labels,
// annotations and spec, the scheduled-timestamp annotation (in the CronJob's
// time zone), and the CronJob as its controller.
func jobFor(cj *batchv1.CronJob, scheduled time.Time) (*batchv1.Job, error) {
	loc := time.UTC
	if tz := cj.Spec.TimeZone; tz != nil {
		var err error
		if loc, err = time.LoadLocation(*tz); err != nil {
			return nil, err
		}
	}
	annotations := map[string]string{}
	for k, v := range cj.Spec.JobTemplate.Annotations {
		annotations[k] = v
	}
	annotations[batchv1.CronJobScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	labels := map[string]string{}
	for k, v := range cj.Spec.JobTemplate.Labels {
		labels[k] = v
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:            jobName(cj, scheduled),
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
		},
	}
	cj.Spec.JobTemplate.Spec.DeepCopyInto(&job.Spec)
	return job, nil
}
