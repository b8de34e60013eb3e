package app

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestControllerFlags: upstream's flag names and defaults; a GC threshold of
// 0 or less disables the collector, as upstream.
func TestControllerFlags(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		grace     time.Duration
		threshold int
	}{
		{nil, 50 * time.Second, 0},
		{[]string{"--node-monitor-grace-period=20s", "--terminated-pod-gc-threshold=100"}, 20 * time.Second, 100},
		{[]string{"--terminated-pod-gc-threshold=0"}, 50 * time.Second, -1},
	} {
		var c ControllersConfig
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		addControllerFlags(fs, &c)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		if c.NodeMonitorGracePeriod != tt.grace || c.TerminatedPodGCThreshold != tt.threshold {
			t.Errorf("%v: grace %v, threshold %d; want %v, %d", tt.args, c.NodeMonitorGracePeriod, c.TerminatedPodGCThreshold, tt.grace, tt.threshold)
		}
	}
	if err := (ControllersConfig{NodeMonitorGracePeriod: -time.Second}).Validate(); err == nil {
		t.Error("negative grace period accepted")
	}
}
