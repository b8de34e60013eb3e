package containerd_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// BenchmarkPodStart: a pod's sandbox, then its one container started from
// an image already present, until the container runs. It reports the
// sandbox's and the container's start latency (p50, p99).
func BenchmarkPodStart(b *testing.B) {
	r, _ := newRuntimeDir(b)
	var sandbox, start []time.Duration
	for i := 0; b.Loop(); i++ {
		pod := testPod(fmt.Sprintf("bench-%d", i), corev1.Container{Name: "main", Command: []string{"sh", "-c", `trap "exit 0" TERM; sleep 3600 & wait`}})
		t0 := time.Now()
		if _, err := r.RunPodSandbox(b.Context(), pod); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		c := &pod.Spec.Containers[0]
		if _, err := r.PullImage(b.Context(), pod, c); err != nil {
			b.Fatal(err)
		}
		if _, err := r.StartContainer(b.Context(), pod, c, 0); err != nil {
			b.Fatal(err)
		}
		s, _ := r.PodStatus(b.Context(), pod.UID)
		if s.Containers[0].State != runtime.StateRunning {
			b.Fatalf("container %s after StartContainer", s.Containers[0].State)
		}
		sandbox, start = append(sandbox, t1.Sub(t0)), append(start, time.Since(t1))
		b.StopTimer()
		if err := r.StopPod(b.Context(), pod.UID, time.Second); err != nil {
			b.Fatal(err)
		}
		if err := r.RemovePod(b.Context(), pod.UID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"sandbox", sandbox}, {"container", start}} {
		slices.Sort(m.d)
		b.ReportMetric(float64(m.d[len(m.d)/2].Microseconds())/1000, m.name+"-p50-ms")
		b.ReportMetric(float64(m.d[len(m.d)*99/100].Microseconds())/1000, m.name+"-p99-ms")
	}
}
