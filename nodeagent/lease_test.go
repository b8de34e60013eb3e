package nodeagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
)

// leaseActions lists client's verbs on leases, as "verb" strings.
func leaseActions(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range actions {
		if a.GetResource().Resource == "leases" {
			out = append(out, a.GetVerb())
		}
	}
	return out
}

func TestLeaseRenew(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "sim-0", fmt.Errorf("changed"))
	tests := []struct {
		name string
		// failUpdates is how many updates fail with a conflict; -1 for none
		// and no Lease yet.
		failUpdates int
		// busy is how many updates then fail with 429 (after the
		// conflicts): the renewal fails.
		busy      int
		wantVerbs []string
	}{
		{"first renewal creates", -1, 0, []string{"get", "create"}},
		{"later renewal updates without a read", 0, 0, []string{"update"}},
		{"conflict re-reads and retries", 1, 0, []string{"update", "get", "update"}},
		{"two conflicts", 2, 0, []string{"update", "get", "update", "get", "update"}},
		{"conflict, then the server is busy", 1, 1, []string{"update", "get", "update"}},
		{"after a busy server, no read again", 0, 0, []string{"update"}},
	}
	_, ctx := ktesting.NewTestContext(t)
	clk := testingclock.NewFakeClock(t0)
	client := newFakeClient()
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-0", 0, false), clk)
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	failures, busy := 0, 0
	client.PrependReactor("update", "leases", func(clienttesting.Action) (bool, runtime.Object, error) {
		if failures > 0 {
			failures--
			return true, nil, conflict
		}
		if busy > 0 {
			busy--
			return true, nil, apierrors.NewTooManyRequests("busy", 1)
		}
		return false, nil, nil
	})
	for _, tc := range tests {
		clk.Step(10 * time.Second)
		failures, busy = max(tc.failUpdates, 0), tc.busy
		client.ClearActions()
		err := s.lease.renew(ctx, s.node())
		if diff := cmp.Diff(tc.wantVerbs, leaseActions(client.Actions())); diff != "" {
			t.Errorf("%s: requests (-want +got):\n%s", tc.name, diff)
		}
		if tc.busy > 0 {
			if !apierrors.IsTooManyRequests(err) {
				t.Fatalf("%s: got %v, want the server's 429", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		l, err := client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "sim-0", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkLease(t, tc.name, l, "uid-sim-0", clk.Now())
	}
}

func checkLease(t *testing.T, step string, l *coordinationv1.Lease, uid types.UID, renewed time.Time) {
	t.Helper()
	wantOwners := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: l.Name, UID: uid}}
	if diff := cmp.Diff(wantOwners, l.OwnerReferences); diff != "" {
		t.Errorf("%s: owner references (-want +got):\n%s", step, diff)
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != l.Name {
		t.Errorf("%s: holder %v, want %s", step, l.Spec.HolderIdentity, l.Name)
	}
	if l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds != 40 {
		t.Errorf("%s: duration %v, want 40", step, l.Spec.LeaseDurationSeconds)
	}
	if l.Spec.RenewTime == nil || !l.Spec.RenewTime.Time.Equal(renewed) {
		t.Errorf("%s: renewTime %v, want %v", step, l.Spec.RenewTime, renewed)
	}
}

func TestLeaseOwnerFollowsNode(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	clk := testingclock.NewFakeClock(t0)
	client := newFakeClient()
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-0", 0, false), clk)
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.lease.renew(ctx, s.node()); err != nil {
		t.Fatal(err)
	}
	// The Node is deleted and made again (another UID): the next sync
	// registers it again and the Lease follows the new Node.
	if err := client.CoreV1().Nodes().Delete(ctx, "sim-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	client.PrependReactor("create", "nodes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		a.(clienttesting.CreateAction).GetObject().(*corev1.Node).UID = "uid-second"
		return false, nil, nil
	})
	// The next write (here forced, as the periodic report does) finds the
	// Node gone.
	s.lastReport = time.Time{}
	if err := s.syncStatus(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Step(10 * time.Second)
	if err := s.lease.renew(ctx, s.node()); err != nil {
		t.Fatal(err)
	}
	l, err := client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "sim-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLease(t, "recreated node", l, "uid-second", clk.Now())
}

// TestNodeRun drives the heartbeat loop with a fake clock: the first
// heartbeat comes at the node's phase, later ones a period apart.
func TestNodeRun(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	clk := testingclock.NewFakeClock(t0)
	client := newFakeClient()
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-0", 0, false), clk)
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.run(ctx); close(done) }()
	offset := time.Duration(s.phase * float64(s.period))
	renewals := func() int {
		n := 0
		for _, v := range leaseActions(client.Actions()) {
			if v == "create" || v == "update" {
				n++
			}
		}
		return n
	}
	waitFor := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for renewals() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d renewals, want %d", renewals(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for !clk.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	clk.Step(offset - time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	waitFor(0)
	clk.Step(time.Millisecond)
	waitFor(1)
	for i := 2; i <= 4; i++ {
		for !clk.HasWaiters() {
			time.Sleep(time.Millisecond)
		}
		clk.Step(s.period)
		waitFor(i)
	}
	cancel()
	<-done
}
