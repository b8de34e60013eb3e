// Package loop is the work loop kubelite's controllers share: a rate-limited
// queue of string keys and workers that sync one key at a time.
//
// A controller's event handlers Add keys; Run waits for the informer caches,
// then calls the sync function for each key until ctx ends. A key is never
// synced by two workers at once. A sync that fails is retried with
// exponential backoff (5 ms doubling up to a minute) unless its error is
// marked Terminal; a sync that succeeds resets the key's backoff.
package loop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// MaxRetryDelay caps the backoff after failed syncs, so a key whose sync
// keeps failing is retried at least once a minute.
const MaxRetryDelay = time.Minute

// SyncFunc brings the state a key names to what it should be.
type SyncFunc func(ctx context.Context, key string) error

// Loop is one controller's queue and workers. Build it with New.
type Loop struct {
	name   string
	sync   SyncFunc
	queue  workqueue.TypedRateLimitingInterface[string]
	synced []cache.InformerSynced
}

// New returns a loop named name (used in logs and queue metrics) that syncs
// keys with sync.
func New(name string, sync SyncFunc) *Loop {
	return &Loop{
		name: name,
		sync: sync,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, MaxRetryDelay),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name},
		),
	}
}

// Add queues key for a sync.
func (l *Loop) Add(key string) { l.queue.Add(key) }

// Queue is the underlying queue, for tests that drive syncs by hand.
func (l *Loop) Queue() workqueue.TypedRateLimitingInterface[string] { return l.queue }

// WaitFor adds caches (informers and event handler registrations) that Run
// waits for before the first sync.
func (l *Loop) WaitFor(synced ...cache.InformerSynced) { l.synced = append(l.synced, synced...) }

// Run waits for the caches, then syncs keys with the given number of workers
// until ctx ends. It returns nil after a clean shutdown, once every worker
// has stopped. Run may be called only once.
func (l *Loop) Run(ctx context.Context, workers int) error {
	if workers < 1 {
		return fmt.Errorf("run %s: workers must be at least 1, got %d", l.name, workers)
	}
	logger := klog.LoggerWithName(klog.FromContext(ctx), l.name)
	ctx = klog.NewContext(ctx, logger)
	defer l.queue.ShutDown()

	logger.Info("Starting controller")
	defer logger.Info("Stopped controller")
	if !cache.WaitForNamedCacheSyncWithContext(ctx, l.synced...) {
		return fmt.Errorf("%s: wait for cache sync: %w", l.name, context.Cause(ctx))
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for l.ProcessNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	l.queue.ShutDown()
	wg.Wait()
	return nil
}

// ProcessNext syncs one key from the queue and decides whether it comes
// back. It returns false once the queue is shut down.
func (l *Loop) ProcessNext(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)

	err := l.sync(ctx, key)
	switch {
	case err == nil:
		l.queue.Forget(key)
	case IsTerminal(err):
		// Retrying cannot help; the next change to the object requeues it.
		l.queue.Forget(key)
		utilruntime.HandleErrorWithContext(ctx, err, "Sync failed for good", "controller", l.name, "key", key)
	default:
		utilruntime.HandleErrorWithContext(ctx, err, "Sync failed, will retry", "controller", l.name, "key", key)
		l.queue.AddRateLimited(key)
	}
	return true
}

// Terminal marks err as a failure that retrying cannot fix: the key is not
// requeued.
func Terminal(err error) error { return &terminalError{err: err} }

type terminalError struct{ err error }

func (e *terminalError) Error() string { return e.err.Error() }
func (e *terminalError) Unwrap() error { return e.err }

// IsTerminal reports whether err, or an error it wraps, was marked Terminal.
func IsTerminal(err error) bool {
	var terminal *terminalError
	return errors.As(err, &terminal)
}

// AddAfter queues key for a sync once d has passed.
func (l *Loop) AddAfter(key string, d time.Duration) { l.queue.AddAfter(key, d) }
