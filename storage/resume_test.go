package storage

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	apistorage "k8s.io/apiserver/pkg/storage"
)

// fakeWatches is a store whose watches are queued fake watchers; it records the
// revision each watch started at.
type fakeWatches struct {
	apistorage.Interface
	started  chan string
	watchers chan *watch.FakeWatcher
}

func (f *fakeWatches) Watch(_ context.Context, _ string, opts apistorage.ListOptions) (watch.Interface, error) {
	w := watch.NewFakeWithChanSize(10, false)
	f.started <- opts.ResourceVersion
	f.watchers <- w
	return w, nil
}

func event(rv string) *corev1.Event {
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", ResourceVersion: rv}}
}

func internalError() *metav1.Status {
	s := apierrors.NewInternalError(errors.New("etcd event received with PrevKv=nil")).Status()
	return &s
}

func receive(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return watch.Event{}
}

// watchFrom5 is a resuming watch from revision 5 on a fake store, stopped
// when the test ends.
func watchFrom5(t *testing.T) (*fakeWatches, watch.Interface) {
	t.Helper()
	f := &fakeWatches{started: make(chan string, 10), watchers: make(chan *watch.FakeWatcher, 10)}
	w, err := resumingStore{f}.Watch(context.Background(), "/events/ns", apistorage.ListOptions{ResourceVersion: "5"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return f, w
}

func TestWatchResumesAfterInternalError(t *testing.T) {
	f, w := watchFrom5(t)
	if rv := <-f.started; rv != "5" {
		t.Fatalf("first watch from %q", rv)
	}
	first := <-f.watchers
	first.Add(event("7"))
	if ev := receive(t, w); ev.Type != watch.Added || ev.Object.(*corev1.Event).ResourceVersion != "7" {
		t.Fatalf("got %v", ev)
	}
	// The etcd watcher ends on an event without its previous value.
	first.Error(internalError())
	if rv := <-f.started; rv != "7" {
		t.Fatalf("resumed from %q, want 7", rv)
	}
	if !first.IsStopped() {
		t.Error("broken watch not stopped")
	}
	second := <-f.watchers
	second.Modify(event("8"))
	if ev := receive(t, w); ev.Type != watch.Modified || ev.Object.(*corev1.Event).ResourceVersion != "8" {
		t.Fatalf("after resuming got %v", ev)
	}

	// 410 Gone is the client's to handle.
	gone := apierrors.NewResourceExpired("too old").Status()
	second.Error(&gone)
	if ev := receive(t, w); ev.Type != watch.Error || ev.Object.(*metav1.Status).Code != http.StatusGone {
		t.Fatalf("got %v, want the 410", ev)
	}
	select {
	case rv := <-f.started:
		t.Fatalf("resumed from %s on a 410", rv)
	default:
	}
}

func TestWatchGivesUpOnARepeatedError(t *testing.T) {
	f, w := watchFrom5(t)
	for i := 0; i <= resumeAttempts; i++ {
		if rv := <-f.started; rv != "5" {
			t.Fatalf("watch %d from %q", i, rv)
		}
		(<-f.watchers).Error(internalError())
	}
	if ev := receive(t, w); ev.Type != watch.Error {
		t.Fatalf("got %v, want the error", ev)
	}
	if _, ok := <-w.ResultChan(); ok {
		t.Error("watch goes on after its error")
	}
}

func TestWatchFromCurrentStateIsNotResumed(t *testing.T) {
	f := &fakeWatches{started: make(chan string, 10), watchers: make(chan *watch.FakeWatcher, 10)}
	for _, opts := range []apistorage.ListOptions{{}, {ResourceVersion: "0"}, {ResourceVersion: "5", SendInitialEvents: new(true)}} {
		w, err := resumingStore{f}.Watch(context.Background(), "/events/ns", opts)
		if err != nil {
			t.Fatal(err)
		}
		<-f.started
		fw := <-f.watchers
		if w != watch.Interface(fw) {
			t.Errorf("watch with %+v wrapped", opts)
		}
		w.Stop()
	}
}
