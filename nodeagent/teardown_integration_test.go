package nodeagent_test

import (
	"context"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// slowRemoval is a runtime whose RemovePod waits until release is closed,
// as a real one's may take its time (containers, snapshots, the network).
type slowRemoval struct {
	runtime.Runtime
	release chan struct{}
	mu      sync.Mutex
	waiting map[types.UID]bool
}

func (r *slowRemoval) RemovePod(ctx context.Context, uid types.UID) error {
	r.mu.Lock()
	r.waiting[uid] = true
	r.mu.Unlock()
	select {
	case <-r.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return r.Runtime.RemovePod(ctx, uid)
}

func (r *slowRemoval) waitingFor() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.waiting)
}

// TestTeardownDoesNotHoldNewPods: pods that left the API are torn down off
// the agent's workers, so that a new pod starts while every worker's worth
// of old ones is still being removed; and they are removed in the end.
func TestTeardownDoesNotHoldNewPods(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client
	ctx := context.Background()
	node := nodeagent.SimulatedNodeConfig("sim-teardown", 0, false)
	rt := &slowRemoval{Runtime: newRuntime(t, node), release: make(chan struct{}), waiting: map[types.UID]bool{}}
	startAgent(t, t, c, node, rt) // two workers, the default
	s.CreateNamespace(t, "agent")

	old := []string{"old-0", "old-1", "old-2", "old-3"}
	for _, name := range old {
		if _, err := c.CoreV1().Pods("agent").Create(ctx, newPod(name, node.Name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range old {
		waitPod(t, c, "agent", name, "Ready", podReady)
	}
	// Grace 0: the API objects go at once; the agent then tears them down.
	for _, name := range old {
		if err := c.CoreV1().Pods("agent").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return rt.waitingFor() >= 2, nil
	}); err != nil {
		t.Fatalf("%d removals started, want at least 2 (one per worker)", rt.waitingFor())
	}

	if _, err := c.CoreV1().Pods("agent").Create(ctx, newPod("new", node.Name), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c, "agent", "new", "Ready while the old pods' removals wait", podReady)

	close(rt.release)
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		held, err := rt.ListPods(ctx)
		return err == nil && len(held) == 1, nil
	}); err != nil {
		held, _ := rt.ListPods(ctx)
		t.Fatalf("the runtime holds %d pods once the removals may end, want 1 (the new one)", len(held))
	}
}
