package simulated

import (
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestConcurrentClock steps a fake clock while pods start, stop and go:
// the fake clock runs timer functions under its own lock, so the runtime
// must never call it with its own lock held.
func TestConcurrentClock(t *testing.T) {
	f := newFixture(t)
	done := make(chan struct{})
	stepped := make(chan struct{})
	go func() {
		defer close(stepped)
		for {
			select {
			case <-done:
				return
			default:
				f.clock.Step(100 * time.Millisecond)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				pod := testPod(ownedByJob, annotate("main", "start=50ms,stop=200ms"), func(p *corev1.Pod) {
					p.UID = types.UID(fmt.Sprintf("w%d-%d", w, i))
				})
				if _, err := f.r.RunPodSandbox(f.ctx, pod); err != nil {
					t.Error(err)
					return
				}
				id, err := f.r.StartContainer(f.ctx, pod, specContainer(pod, "main"), 0)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := f.r.StartContainer(f.ctx, pod, specContainer(pod, "init"), 0); err != nil {
					t.Error(err)
					return
				}
				if err := f.r.StopContainer(f.ctx, pod, id, time.Second); err != nil {
					t.Error(err)
					return
				}
				if err := f.r.StopPod(f.ctx, pod.UID, time.Second); err != nil {
					t.Error(err)
					return
				}
				for {
					if err := f.r.RemovePod(f.ctx, pod.UID); err == nil {
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock: workers did not finish")
	}
	close(done)
	<-stepped
	if pods, _ := f.r.ListPods(f.ctx); len(pods) != 0 {
		t.Errorf("%d pods left", len(pods))
	}
}
