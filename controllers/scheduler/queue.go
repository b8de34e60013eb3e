package scheduler

import (
	"container/heap"
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/utils/clock"
)

// Upstream's queue timings.
const (
	// initialBackoff doubles with each failed attempt up to maxBackoff.
	initialBackoff = time.Second
	maxBackoff     = 10 * time.Second
	// maxUnschedulable is how long a pod waits for a relevant event before
	// it is retried anyway; flushInterval is how often that is checked.
	maxUnschedulable = 5 * time.Minute
	flushInterval    = 30 * time.Second
)

type location int

const (
	inActive location = iota
	inBackoff
	inUnschedulable
	inFlight
)

// queuedPod is a pending pod and its scheduling history.
type queuedPod struct {
	pod *corev1.Pod
	// attempts counts scheduling cycles; added is when the pod was first
	// queued, backoffUntil when its backoff ends, since when it entered the
	// unschedulable set.
	attempts            int
	added, backoffUntil time.Time
	since               time.Time
	// rejectedBy names the plugins that rejected the pod in its last cycle;
	// empty means any change may help.
	rejectedBy sets.Set[string]
	// moveCycle is the queue's move count when the pod was popped; updated
	// says the pod changed while it was in flight.
	moveCycle int64
	updated   bool
	where     location
	index     int
}

// queue holds the pods waiting to be scheduled, in three parts as
// upstream's: active pods, by priority then age, are popped by the
// scheduling loop; pods that failed wait out their backoff in backoff;
// pods no node fits wait in unschedulable until a cluster event that might
// help (a node added or changed, a pod deleted) moves them back. A pod
// that failed while such an event happened during its cycle goes to
// backoff, not unschedulable, so the event is not lost.
type queue struct {
	mu            sync.Mutex
	clock         clock.Clock
	pods          map[types.UID]*queuedPod
	active        podHeap
	backoff       podHeap
	moveCycle     int64
	lastFlush     time.Time
	unschedulable map[types.UID]*queuedPod
	notify        chan struct{}
}

func newQueue(clk clock.Clock) *queue {
	return &queue{
		clock:         clk,
		pods:          map[types.UID]*queuedPod{},
		unschedulable: map[types.UID]*queuedPod{},
		active:        podHeap{less: activeLess},
		backoff:       podHeap{less: func(a, b *queuedPod) bool { return a.backoffUntil.Before(b.backoffUntil) }},
		notify:        make(chan struct{}, 1),
		lastFlush:     clk.Now(),
	}
}

// activeLess orders by priority, highest first, then by age.
func activeLess(a, b *queuedPod) bool {
	pa, pb := corev1helpers.PodPriority(a.pod), corev1helpers.PodPriority(b.pod)
	if pa != pb {
		return pa > pb
	}
	return a.added.Before(b.added)
}

func (q *queue) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// add queues a new pending pod, or records a change to a queued one: a
// pod waiting as unschedulable is retried, as its change may make it fit.
func (q *queue) add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp, ok := q.pods[pod.UID]
	if !ok {
		now := q.clock.Now()
		qp = &queuedPod{pod: pod, added: now}
		q.pods[pod.UID] = qp
		q.toActiveLocked(qp)
		return
	}
	qp.pod = pod
	switch qp.where {
	case inActive:
		heap.Fix(&q.active, qp.index)
	case inFlight:
		qp.updated = true
	case inUnschedulable:
		delete(q.unschedulable, qp.pod.UID)
		q.toActiveOrBackoffLocked(qp)
	}
}

// remove forgets a pod that was deleted, bound elsewhere or gated.
func (q *queue) remove(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp, ok := q.pods[uid]
	if !ok {
		return
	}
	delete(q.pods, uid)
	switch qp.where {
	case inActive:
		heap.Remove(&q.active, qp.index)
	case inBackoff:
		heap.Remove(&q.backoff, qp.index)
	case inUnschedulable:
		delete(q.unschedulable, uid)
	}
}

func (q *queue) toActiveLocked(qp *queuedPod) {
	qp.where = inActive
	heap.Push(&q.active, qp)
	q.wake()
}

func (q *queue) toActiveOrBackoffLocked(qp *queuedPod) {
	if q.clock.Now().Before(qp.backoffUntil) {
		qp.where = inBackoff
		heap.Push(&q.backoff, qp)
		q.wake()
		return
	}
	q.toActiveLocked(qp)
}

// pop blocks until an active pod is there or ctx ends, and hands it out:
// the pod is in flight until done or one of the requeue calls.
func (q *queue) pop(ctx context.Context) (*queuedPod, error) {
	for {
		q.mu.Lock()
		now := q.clock.Now()
		q.flushLocked(now)
		if q.active.Len() > 0 {
			qp := heap.Pop(&q.active).(*queuedPod)
			qp.where, qp.moveCycle, qp.updated = inFlight, q.moveCycle, false
			qp.attempts++
			q.mu.Unlock()
			return qp, nil
		}
		var wait time.Duration
		if q.backoff.Len() > 0 {
			wait = q.backoff.items[0].backoffUntil.Sub(now)
		}
		if len(q.unschedulable) > 0 {
			if w := q.lastFlush.Add(flushInterval).Sub(now); wait == 0 || w < wait {
				wait = w
			}
		}
		q.mu.Unlock()
		var timer clock.Timer
		var timeout <-chan time.Time
		if wait > 0 {
			timer = q.clock.NewTimer(wait)
			timeout = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-q.notify:
		case <-timeout:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
	}
}

// flushLocked moves pods whose backoff is over to active, and, every
// flushInterval, pods unschedulable for longer than maxUnschedulable.
func (q *queue) flushLocked(now time.Time) {
	for q.backoff.Len() > 0 && !now.Before(q.backoff.items[0].backoffUntil) {
		qp := heap.Pop(&q.backoff).(*queuedPod)
		q.toActiveLocked(qp)
	}
	if len(q.unschedulable) == 0 || now.Sub(q.lastFlush) < flushInterval {
		return
	}
	q.lastFlush = now
	for uid, qp := range q.unschedulable {
		if now.Sub(qp.since) >= maxUnschedulable {
			delete(q.unschedulable, uid)
			q.toActiveOrBackoffLocked(qp)
		}
	}
}

// done forgets a pod that was bound.
func (q *queue) done(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.pods[qp.pod.UID]; ok && cur == qp {
		delete(q.pods, qp.pod.UID)
	}
}

func backoffFor(attempts int) time.Duration {
	d := initialBackoff
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// requeue puts back a pod whose cycle failed. With rejectedBy (the pod
// fits no node) it waits for a relevant event, unless one came, or the pod
// changed, while it was in flight; with err set (something broke) it
// retries after its backoff.
func (q *queue) requeue(qp *queuedPod, rejectedBy sets.Set[string], failedErr bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.pods[qp.pod.UID]; !ok || cur != qp || qp.where != inFlight {
		return
	}
	now := q.clock.Now()
	qp.backoffUntil = now.Add(backoffFor(qp.attempts))
	qp.rejectedBy = rejectedBy
	if failedErr || qp.updated || q.moveCycle > qp.moveCycle {
		q.toActiveOrBackoffLocked(qp)
		return
	}
	qp.where, qp.since = inUnschedulable, now
	q.unschedulable[qp.pod.UID] = qp
}

// clusterEvent is a change that may make unschedulable pods fit (the
// kinds are listed in handlers.go).
type clusterEvent int

// move retries the unschedulable pods that ev may help.
func (q *queue) move(ev clusterEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveCycle++
	for uid, qp := range q.unschedulable {
		if ev.helps(qp) {
			delete(q.unschedulable, uid)
			q.toActiveOrBackoffLocked(qp)
		}
	}
}

func (ev clusterEvent) helps(qp *queuedPod) bool {
	plugins := ev.plugins()
	if plugins == nil || len(qp.rejectedBy) == 0 {
		return true
	}
	for _, p := range plugins {
		if qp.rejectedBy.Has(p) {
			return true
		}
	}
	return false
}

// podHeap is a heap of queued pods that keeps each pod's index.
type podHeap struct {
	items []*queuedPod
	less  func(a, b *queuedPod) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *podHeap) Push(x any) {
	qp := x.(*queuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *podHeap) Pop() any {
	n := len(h.items)
	qp := h.items[n-1]
	h.items[n-1] = nil
	h.items = h.items[:n-1]
	return qp
}
