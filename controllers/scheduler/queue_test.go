package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/sets"
	testingclock "k8s.io/utils/clock/testing"

	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

func popNow(t *testing.T, q *queue) *queuedPod {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	qp, err := q.pop(ctx)
	if err != nil {
		t.Fatalf("pop: %v", err)
	}
	return qp
}

func popNone(t *testing.T, q *queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if qp, err := q.pop(ctx); err == nil {
		t.Fatalf("popped %s, want nothing", qp.pod.Name)
	}
}

// TestQueueOrder: higher priority first, then first come first served.
func TestQueueOrder(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk)
	q.add(ft.MakePod("low-old").Priority(1).Obj())
	clk.Step(time.Second)
	q.add(ft.MakePod("high").Priority(10).Obj())
	clk.Step(time.Second)
	q.add(ft.MakePod("low-new").Priority(1).Obj())
	var got []string
	for range 3 {
		got = append(got, popNow(t, q).pod.Name)
	}
	if diff := cmp.Diff([]string{"high", "low-old", "low-new"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// TestQueueUnschedulable: a pod no node fits waits until an event that
// may help it, then waits out its backoff (1 s, doubling), then comes back.
func TestQueueUnschedulable(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk)
	q.add(ft.MakePod("p").Obj())
	qp := popNow(t, q)
	q.requeue(qp, sets.New("NodeResourcesFit"), false)
	popNone(t, q)

	q.move(assignedPodChanged) // helps only affinity and spread
	popNone(t, q)
	q.move(assignedPodDeleted) // frees resources
	popNone(t, q)              // still backing off
	clk.Step(initialBackoff)
	if got := popNow(t, q); got != qp {
		t.Fatalf("popped %v", got.pod.Name)
	}

	// Second failure: backoff 2 s.
	q.requeue(qp, sets.New("NodeResourcesFit"), false)
	q.move(nodeAdded)
	clk.Step(initialBackoff)
	popNone(t, q)
	clk.Step(initialBackoff)
	popNow(t, q)
}

// TestQueueEventInFlight: an event during the pod's cycle sends the failed
// pod to backoff, not to wait for another event.
func TestQueueEventInFlight(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk)
	q.add(ft.MakePod("p").Obj())
	qp := popNow(t, q)
	q.move(nodeAdded)
	q.requeue(qp, sets.New("NodeResourcesFit"), false)
	clk.Step(initialBackoff)
	popNow(t, q)
}

// TestQueueFlush: a pod that waited maxUnschedulable without an event is
// retried anyway.
func TestQueueFlush(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk)
	q.add(ft.MakePod("p").Obj())
	q.requeue(popNow(t, q), sets.New("TaintToleration"), false)
	clk.Step(maxUnschedulable + flushInterval)
	popNow(t, q)
}

// TestQueueUpdateAndRemove: a changed unschedulable pod is retried; a
// removed one is gone.
func TestQueueUpdateAndRemove(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk)
	pod := ft.MakePod("p").Obj()
	q.add(pod)
	q.requeue(popNow(t, q), sets.New("NodeAffinity"), false)
	clk.Step(maxBackoff)
	changed := pod.DeepCopy()
	changed.Spec.NodeSelector = map[string]string{"a": "b"}
	q.add(changed)
	if got := popNow(t, q); got.pod != changed {
		t.Error("popped the old pod")
	}
	q.add(ft.MakePod("gone").Obj())
	q.remove(ft.MakePod("gone").Obj().UID)
	popNone(t, q)
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := backoffFor(i + 1); got != w {
			t.Errorf("backoffFor(%d) = %v, want %v", i+1, got, w)
		}
	}
}
