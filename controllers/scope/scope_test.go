package scope

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func counter(n *atomic.Int32) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{AddFunc: func(any) { n.Add(1) }}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func createPod(t *testing.T, client *fake.Clientset, name string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	if _, err := client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A term's handlers stop with the term; the informer, its cache and the
// handlers registered outside the scope keep going, and the next term sees
// the cache at once.
func TestCloseRemovesOnlyTheScopesHandlers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	shared := informers.NewSharedInformerFactory(client, 0)
	var outside, term1, term2 atomic.Int32
	if _, err := shared.Core().V1().Pods().Informer().AddEventHandler(counter(&outside)); err != nil {
		t.Fatal(err)
	}

	termCtx, endTerm := context.WithCancel(ctx)
	s1 := New(ctx, shared)
	if _, err := s1.Core().V1().Pods().Informer().AddEventHandler(counter(&term1)); err != nil {
		t.Fatal(err)
	}
	pods, err := s1.ForResource(corev1.SchemeGroupVersion.WithResource("pods"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Informer().AddEventHandler(counter(&term1)); err != nil {
		t.Fatal(err)
	}
	if got := s1.Handlers(); got != 2 {
		t.Fatalf("scope has %d handlers, want 2", got)
	}
	s1.Start(termCtx.Done())
	s1.WaitForCacheSync(termCtx.Done())
	createPod(t, client, "a")
	eventually(t, "both terms' handlers and the outside one to see pod a", func() bool {
		return term1.Load() == 2 && outside.Load() == 1
	})

	// The term ends: its stop channel closes and its scope is closed.
	endTerm()
	s1.Close()
	createPod(t, client, "b")
	eventually(t, "the outside handler to see pod b", func() bool { return outside.Load() == 2 })

	// The informer still runs (it was started for ctx, not the term).
	s2 := New(ctx, shared)
	defer s2.Close()
	if _, err := s2.Core().V1().Pods().Informer().AddEventHandler(counter(&term2)); err != nil {
		t.Fatal(err)
	}
	s2.Start(ctx.Done())
	eventually(t, "the next term's handler to get the cached pods", func() bool { return term2.Load() == 2 })
	createPod(t, client, "c")
	eventually(t, "the next term's handler to see pod c", func() bool { return term2.Load() == 3 && outside.Load() == 3 })
	time.Sleep(100 * time.Millisecond)
	if got := term1.Load(); got != 2 {
		t.Errorf("the closed scope's handlers saw %d adds, want 2 (none after Close)", got)
	}
	if n := len(shared.Core().V1().Pods().Informer().GetStore().List()); n != 3 {
		t.Errorf("shared cache has %d pods, want 3", n)
	}
}

// A handler added through a closed scope is removed at once.
func TestAddAfterClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	shared := informers.NewSharedInformerFactory(client, 0)
	s := New(ctx, shared)
	s.Close()
	var n atomic.Int32
	if _, err := s.Core().V1().Pods().Informer().AddEventHandler(counter(&n)); err != nil {
		t.Fatal(err)
	}
	shared.Start(ctx.Done())
	shared.WaitForCacheSync(ctx.Done())
	createPod(t, client, "a")
	time.Sleep(200 * time.Millisecond)
	if n.Load() != 0 {
		t.Errorf("handler of a closed scope saw %d adds", n.Load())
	}
}

// Handlers added before Start share one registration per informer and
// resync period; each sees the cache's objects, then every change, and
// syncs with it. A handler added after Start is registered on its own.
func TestHandlersShareARegistration(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	shared := informers.NewSharedInformerFactory(client, 0)
	shared.Core().V1().Pods().Informer()
	shared.Start(ctx.Done())
	shared.WaitForCacheSync(ctx.Done())
	createPod(t, client, "a")
	eventually(t, "the cache to hold pod a", func() bool {
		return len(shared.Core().V1().Pods().Informer().GetStore().List()) == 1
	})

	s := New(ctx, shared)
	defer s.Close()
	pods := s.Core().V1().Pods().Informer()
	var first, second, resynced, late atomic.Int32
	reg1, err := pods.AddEventHandler(counter(&first))
	if err != nil {
		t.Fatal(err)
	}
	reg2, err := pods.AddEventHandler(counter(&second))
	if err != nil {
		t.Fatal(err)
	}
	reg3, err := pods.AddEventHandlerWithResyncPeriod(counter(&resynced), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h1, ok1 := reg1.(*handler)
	h2, ok2 := reg2.(*handler)
	h3, ok3 := reg3.(*handler)
	if !ok1 || !ok2 || !ok3 || h1.fanout != h2.fanout || h3.fanout == h1.fanout {
		t.Fatalf("want the two handlers without resync on one registration and the resync one on another")
	}
	time.Sleep(50 * time.Millisecond)
	if reg1.HasSynced() || first.Load() != 0 {
		t.Fatalf("a handler took effect before Start (synced %v, %d adds)", reg1.HasSynced(), first.Load())
	}

	s.Start(ctx.Done())
	select {
	case <-reg2.HasSyncedChecker().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the second handler did not sync")
	}
	if !reg1.HasSynced() {
		t.Fatal("the first handler has not synced with the registration it shares with the second")
	}
	select {
	case <-reg3.HasSyncedChecker().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the handler with a resync period did not sync")
	}
	if !reg3.HasSynced() {
		t.Fatal("the handler with a resync period is done but has not synced")
	}
	if first.Load() != 1 || second.Load() != 1 || resynced.Load() != 1 {
		t.Fatalf("after sync: adds %d, %d, %d, want the cached pod once each", first.Load(), second.Load(), resynced.Load())
	}
	if _, err := pods.AddEventHandler(counter(&late)); err != nil {
		t.Fatal(err)
	}
	if got := s.Handlers(); got != 4 {
		t.Fatalf("scope has %d handlers, want 4", got)
	}
	if err := pods.RemoveEventHandler(reg2); err != nil {
		t.Fatal(err)
	}
	createPod(t, client, "b")
	eventually(t, "the remaining handlers to see pod b", func() bool {
		return first.Load() == 2 && resynced.Load() == 2 && late.Load() == 2
	})
	time.Sleep(100 * time.Millisecond)
	if second.Load() != 1 {
		t.Errorf("a removed handler saw %d adds, want 1", second.Load())
	}
}
