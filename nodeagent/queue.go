package nodeagent

import (
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// podQueue is what an agent needs of the queue its pods wait in, by
// "namespace/name" key.
type podQueue interface {
	Add(key string)
	AddAfter(key string, d time.Duration)
	AddRateLimited(key string)
	Forget(key string)
}

// newPodQueue is the queue of one agent, or of a host's agents: retries
// after a failed sync back off from 10 ms to 30 s.
func newPodQueue[T comparable](name string, clk clock.WithTicker) workqueue.TypedRateLimitingInterface[T] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[T](10*time.Millisecond, 30*time.Second),
		workqueue.TypedRateLimitingQueueConfig[T]{Name: "nodeagent-" + name, Clock: clk})
}

// ownQueue is an agent's own queue.
type ownQueue struct {
	q workqueue.TypedRateLimitingInterface[string]
}

func (o ownQueue) Add(key string)                       { o.q.Add(key) }
func (o ownQueue) AddAfter(key string, d time.Duration) { o.q.AddAfter(key, d) }
func (o ownQueue) AddRateLimited(key string)            { o.q.AddRateLimited(key) }
func (o ownQueue) Forget(key string)                    { o.q.Forget(key) }

// hostKey is a pod of one of a host's agents.
type hostKey struct {
	agent *Agent
	key   string
}

// sharedQueue is an agent's view of its host's queue.
type sharedQueue struct {
	q     workqueue.TypedRateLimitingInterface[hostKey]
	agent *Agent
}

func (s sharedQueue) Add(key string) { s.q.Add(hostKey{s.agent, key}) }
func (s sharedQueue) AddAfter(key string, d time.Duration) {
	s.q.AddAfter(hostKey{s.agent, key}, d)
}
func (s sharedQueue) AddRateLimited(key string) { s.q.AddRateLimited(hostKey{s.agent, key}) }
func (s sharedQueue) Forget(key string)         { s.q.Forget(hostKey{s.agent, key}) }
