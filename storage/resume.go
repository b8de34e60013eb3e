package storage

import (
	"context"
	"net/http"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	apistorage "k8s.io/apiserver/pkg/storage"
)

// resumeAttempts is how many times in a row a watch is resumed at the same
// revision before its error reaches the client.
const resumeAttempts = 3

// resumingStore serves the watches of a resource without a watch cache
// (Events) straight from etcd, as the generic store does, but resumes a watch
// that breaks on an internal error from the revision it had reached, rather
// than ending the client's watch.
//
// etcd can deliver an update without its previous value to a watch it is
// still registering (the server notes that the watch wants previous values
// just after it starts sending it events), and the generic watcher ends the
// watch with a 500 on such an event. A client then sees its watch fail, though
// nothing was wrong with the data: a new watch from the same revision reads
// the event again, with its previous value. The watch cache's own watch
// recovers from it by listing again; a watch served from etcd needs this.
//
// Only a watch that starts at a revision the client gave (what informers and
// `kubectl get -w` send after their list) is resumed; one that starts with
// the current state (no revision, or initial events) passes its errors on,
// since the state it was sending cannot be taken up half-way. Errors other
// than internal ones (410 Gone for a compacted revision, timeouts) always
// pass, and so does an internal error that comes back resumeAttempts times
// at the same revision.
type resumingStore struct {
	apistorage.Interface
}

func (s resumingStore) Watch(ctx context.Context, key string, opts apistorage.ListOptions) (watch.Interface, error) {
	w, err := s.Interface.Watch(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	rv, perr := strconv.ParseUint(opts.ResourceVersion, 10, 64)
	if perr != nil || rv == 0 || (opts.SendInitialEvents != nil && *opts.SendInitialEvents) {
		return w, nil
	}
	r := &resumingWatch{
		store:  s.Interface,
		ctx:    ctx,
		key:    key,
		opts:   opts,
		rv:     opts.ResourceVersion,
		result: make(chan watch.Event),
		stopc:  make(chan struct{}),
	}
	go r.run(w)
	return r, nil
}

type resumingWatch struct {
	store apistorage.Interface
	ctx   context.Context
	key   string
	opts  apistorage.ListOptions
	// rv is the revision of the last event passed on.
	rv string

	result   chan watch.Event
	stopc    chan struct{}
	stopOnce sync.Once
}

func (r *resumingWatch) ResultChan() <-chan watch.Event { return r.result }

func (r *resumingWatch) Stop() { r.stopOnce.Do(func() { close(r.stopc) }) }

func (r *resumingWatch) run(w watch.Interface) {
	defer close(r.result)
	failures := 0
	for {
		ev, ok := r.next(w)
		if !ok {
			return
		}
		if ev.Type == watch.Error {
			// An error ends the watch it came on.
			w.Stop()
			if failures < resumeAttempts && isInternal(ev.Object) {
				failures++
				opts := r.opts
				opts.ResourceVersion = r.rv
				if next, err := r.store.Watch(r.ctx, r.key, opts); err == nil {
					w = next
					continue
				}
			}
			// The error reaches the client, last.
			r.send(ev)
			return
		}
		if acc, err := meta.Accessor(ev.Object); err == nil && acc.GetResourceVersion() != "" {
			if acc.GetResourceVersion() != r.rv {
				failures = 0
			}
			r.rv = acc.GetResourceVersion()
		}
		if !r.send(ev) {
			w.Stop()
			return
		}
	}
}

// send passes ev to the client; false when the watch was stopped first.
func (r *resumingWatch) send(ev watch.Event) bool {
	select {
	case r.result <- ev:
		return true
	case <-r.stopc:
		return false
	}
}

// next is w's next event; false when w ended or the watch was stopped.
func (r *resumingWatch) next(w watch.Interface) (watch.Event, bool) {
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			w.Stop()
		}
		return ev, ok
	case <-r.stopc:
		w.Stop()
		return watch.Event{}, false
	}
}

func isInternal(obj any) bool {
	status, ok := obj.(*metav1.Status)
	return ok && status.Code == http.StatusInternalServerError
}
