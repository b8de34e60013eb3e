package framework

import (
	"runtime"
	"sync"
)

// minPerWorker is the fewest nodes worth a goroutine of their own.
const minPerWorker = 64

// Parallel calls work on contiguous ranges [lo, hi) that together cover
// [0, n), concurrently, one range per available CPU (GOMAXPROCS), and
// returns when all are done. Plugins use it for work over every node of
// the snapshot: each range accumulates on its own, then merges under a
// lock.
func Parallel(n int, work func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+minPerWorker-1)/minPerWorker)
	if workers <= 1 {
		work(0, n)
		return
	}
	var wg sync.WaitGroup
	size := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		wg.Go(func() { work(lo, hi) })
	}
	wg.Wait()
}
