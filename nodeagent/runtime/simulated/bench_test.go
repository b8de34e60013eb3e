package simulated

import (
	"context"
	"fmt"
	goruntime "runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// podsPerNode is upstream's default maxPods.
const podsPerNode = 110

// benchPod returns pod i of node n as a ReplicaSet or Job would make it.
func benchPod(n, i int, job bool) *corev1.Pod {
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "rs", Controller: ptr.To(true)}
	policy := corev1.RestartPolicyAlways
	if job {
		owner.Kind, policy = "Job", corev1.RestartPolicyNever
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "bench", Name: fmt.Sprintf("web-%d-%d", n, i), UID: types.UID(fmt.Sprintf("%08d-0000-0000-0000-%012d", n, i)),
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Spec: corev1.PodSpec{
			RestartPolicy: policy,
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.k8s.io/pause:3.10",
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}},
			}},
		},
	}
}

// BenchmarkStartPods runs nodes of 110 one-container pods (sandbox, pull,
// start) and reports the heap the runtimes keep per pod once the pod
// objects are gone. Each iteration is one node; the runtimes stay alive
// until the measurement.
func BenchmarkStartPods(b *testing.B) {
	for _, job := range []bool{false, true} {
		name := "deployment"
		if job {
			name = "job" // each container has an exit timer pending
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			stages, err := defaultStages()
			if err != nil {
				b.Fatal(err)
			}
			runtimes := make([]*Runtime, 0, b.N)
			before := heapInUse()
			b.ResetTimer()
			for n := range b.N {
				r, err := New(Config{Stages: stages, PodCIDRs: []string{fmt.Sprintf("10.%d.%d.0/24", n>>8&0xff, n&0xff)}})
				if err != nil {
					b.Fatal(err)
				}
				for i := range podsPerNode {
					startBenchPod(ctx, b, r, benchPod(n, i, job))
				}
				runtimes = append(runtimes, r)
			}
			b.StopTimer()
			after := heapInUse()
			pods := float64(b.N * podsPerNode)
			b.ReportMetric(float64(after-before)/pods, "bytes/pod")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/pods, "ns/pod")
			goruntime.KeepAlive(runtimes)
		})
	}
}

func startBenchPod(ctx context.Context, b *testing.B, r *Runtime, pod *corev1.Pod) {
	if _, err := r.RunPodSandbox(ctx, pod); err != nil {
		b.Fatal(err)
	}
	c := &pod.Spec.Containers[0]
	if _, err := r.PullImage(ctx, pod, c); err != nil {
		b.Fatal(err)
	}
	if _, err := r.StartContainer(ctx, pod, c, 0); err != nil {
		b.Fatal(err)
	}
}

func heapInUse() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}
