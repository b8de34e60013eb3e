package scheduler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestSimulatedNodes runs the scheduler with the node agent's simulated
// nodes in the same server: the nodes register themselves; the pods of a
// Service are spread over them by upstream's default topology spreading
// and reach Running.
func TestSimulatedNodes(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Simulated: app.SimulatedNodesConfig{Count: 3}})
	ctx := t.Context()
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		nodes, err := s.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(nodes.Items) != 3 {
			return false, nil
		}
		for _, n := range nodes.Items {
			if len(n.Status.Allocatable) == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("simulated nodes not registered: %v", err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "sim"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "sim"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := s.Client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // for the scheduler's Service informer
	for i := range 6 {
		createPod(t, s, fmt.Sprintf("sim-%d", i), "100m", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "sim"} })
		waitPod(t, s, fmt.Sprintf("sim-%d", i), "bound", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	}
	perNode := map[string]int{}
	for i := range 6 {
		p := waitPod(t, s, fmt.Sprintf("sim-%d", i), "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		perNode[p.Spec.NodeName]++
	}
	for name, n := range perNode {
		if n != 2 {
			t.Errorf("pods per node = %v, want two on each (%s)", perNode, name)
			break
		}
	}
}
