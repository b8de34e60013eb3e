package nodeagent

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

// BenchmarkNodeMemory measures what 1,000 nodes' registration, status and
// Lease keep in memory (the cached Node and Lease, the state, and the parked
// heartbeat goroutine), against a fake clientset whose own store is not
// counted.
func BenchmarkNodeMemory(b *testing.B) {
	const nodes = 1000
	ctx := context.Background()
	for b.Loop() {
		client := newFakeClient()
		clk := testingclock.NewFakeClock(t0)
		statuses := make([]*nodeStatus, nodes)
		for i := range statuses {
			s, err := newNodeStatus(nodeStatusConfig{Client: client, Node: SimulatedNodeConfig(fmt.Sprintf("sim-%d", i), i, true), Runtime: fakeRuntime{}, Clock: clk})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.register(ctx); err != nil {
				b.Fatal(err)
			}
			statuses[i] = s
		}
		base := memStats()
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{}, nodes)
		for _, s := range statuses {
			go func() { s.run(runCtx); done <- struct{}{} }()
		}
		// One heartbeat each (the first comes within a period), then parked.
		waitWaiters(clk, nodes)
		clk.Step(nodeStatusUpdateFrequency)
		waitWaiters(clk, nodes)
		running := memStats()
		b.ReportMetric((float64(running.StackInuse)-float64(base.StackInuse))/nodes, "stack-B/node")
		cancel()
		for range nodes {
			<-done
		}
		held := memStats()
		runtime.KeepAlive(statuses)
		freed := memStats()
		b.ReportMetric((float64(held.HeapAlloc)-float64(freed.HeapAlloc))/nodes, "heap-B/node")
		runtime.KeepAlive(client)
	}
}

func waitWaiters(clk *testingclock.FakeClock, n int) {
	for clk.Waiters() < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
}

func memStats() runtime.MemStats {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m
}

// BenchmarkNodeStatusUnchanged measures one period's status work of a node
// whose status did not change (computing and comparing, no write): what
// each of thousands of nodes does every 10 seconds.
func BenchmarkNodeStatusUnchanged(b *testing.B) {
	ctx := context.Background()
	clk := testingclock.NewFakeClock(t0)
	s, err := newNodeStatus(nodeStatusConfig{Client: newFakeClient(), Node: SimulatedNodeConfig("sim-0", 0, true), Runtime: fakeRuntime{}, Clock: clk,
		Jitter: func() float64 { return 0.5 }})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.register(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.syncStatus(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
