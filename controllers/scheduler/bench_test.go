package scheduler

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// BenchmarkCycle measures the in-memory scheduling cycle (snapshot,
// filter, score, pick, assume) for 5,000 nodes, without the API server:
// plain pods, and pods with anti-affinity and topology spread. It also
// reports the heap the cache and snapshot hold at the end (5,000 nodes and
// b.N pods; make bench runs 10,000).
func BenchmarkCycle(b *testing.B) {
	for _, workload := range []string{"plain", "affinity-spread"} {
		b.Run(fmt.Sprintf("nodes=5000/%s", workload), func(b *testing.B) {
			c := newNodeCache()
			for i := range 5000 {
				c.setNode(ft.MakeNode(fmt.Sprintf("node-%04d", i)).
					Capacity("cpu", "32", "memory", "128Gi").
					Label(corev1.LabelTopologyZone, fmt.Sprintf("zone-%d", i%10)).Obj())
			}
			a := &algorithm{profile: newProfile(defaultPlugins(listers{})), parallelism: runtime.GOMAXPROCS(0),
				rand: rand.New(rand.NewPCG(1, 2))}
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				pod := benchPod(i, workload)
				node, _, err := a.schedule(ctx, c.snapshot(), pod)
				if err != nil {
					b.Fatalf("pod %d: %v", i, err)
				}
				pod.Spec.NodeName = node
				c.assume(pod)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pods/s")
			b.StopTimer()
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			b.ReportMetric(float64(m.HeapAlloc)/(1<<20), "heap-MiB")
			runtime.KeepAlive(c)
		})
	}
}

func benchPod(i int, workload string) *corev1.Pod {
	app := fmt.Sprintf("app-%d", i%100)
	p := ft.MakePod(fmt.Sprintf("pod-%d", i)).Req("cpu", "100m", "memory", "128Mi").Label("app", app).Obj()
	p.UID = types.UID(fmt.Sprintf("uid-%d", i))
	if workload == "plain" {
		return p
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 1, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: sel, TopologyKey: corev1.LabelHostname},
		}},
	}}
	p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: sel,
	}}
	return p
}
