package scheduler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/util/retry"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/controllers/scheduler"
)

// BenchmarkThroughput measures the scheduler through a real server: 1,000
// Ready nodes and 2,000 pending pods for a scheduler named
// "bench-scheduler" (which the server's own scheduler leaves alone); then
// that scheduler starts, with the test client's limits (1,000 QPS), and
// pods/s counts from its start until the last pod is bound. Each
// iteration starts a fresh server.
func BenchmarkThroughput(b *testing.B) {
	const nodes, pods = 1000, 2000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := testserver.Start(b)
		ctx := b.Context()
		parallel(b, nodes, func(i int) error {
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%04d", i),
				Labels: map[string]string{corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%10)}}}
			if _, err := s.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
				return err
			}
			res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
				corev1.ResourcePods: resource.MustParse("110")}
			// The node lifecycle controller writes the new Node too: it takes
			// off the not-ready taint the Node was admitted with. Do that here
			// as well, so that the nodes are schedulable before the clock runs.
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				got, err := s.Client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				got.Status = corev1.NodeStatus{Capacity: res, Allocatable: res,
					Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}
				if got, err = s.Client.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
					return err
				}
				got.Spec.Taints = nil
				_, err = s.Client.CoreV1().Nodes().Update(ctx, got, metav1.UpdateOptions{})
				return err
			})
		})
		parallel(b, pods, func(i int) error {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i)},
				Spec: corev1.PodSpec{SchedulerName: "bench-scheduler", Containers: []corev1.Container{{Name: "c", Image: "busybox",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}}}}}
			_, err := s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
			return err
		})
		factory := informers.NewSharedInformerFactory(s.Client, 0)
		sched, err := scheduler.New(scheduler.Config{Client: s.Client, Name: "bench-scheduler",
			Pods: factory.Core().V1().Pods(), Nodes: factory.Core().V1().Nodes()})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		b.StartTimer()
		start := time.Now()
		factory.Start(runCtx.Done())
		done := make(chan error, 1)
		go func() { done <- sched.Run(runCtx) }()
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			list, err := s.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=", ResourceVersion: "0"})
			return err == nil && len(list.Items) == 0, nil
		})
		if err != nil {
			b.Fatalf("pods not all bound: %v", err)
		}
		took := time.Since(start)
		b.ReportMetric(float64(pods)/took.Seconds(), "pods/s")
		b.StopTimer()
		stop()
		<-done
		factory.Shutdown()
		s.Stop()
	}
}

func parallel(b *testing.B, n int, f func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}
