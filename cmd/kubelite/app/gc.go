package app

import (
	"os"
	"runtime/debug"
)

// serverGCPercent is the garbage collector's target for `kubelite server`: the
// heap may grow by half of what is live before a collection, not by all of it
// (the runtime's default, GOGC=100). An idle one-node server then holds some
// 5 MiB less; under load the collector runs more often. GOGC, when set,
// overrides it, and GOMEMLIMIT applies as the runtime reads it.
const serverGCPercent = 50

// tuneGC sets the server's garbage collector target unless GOGC is set.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serverGCPercent)
	}
}
