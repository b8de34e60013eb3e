package nodeagent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent"
)

// TestHost: agents sharing one watch each run only their own node's pods,
// and see labels a user adds to their node.
func TestHost(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client
	ctx := context.Background()
	var cfgs []nodeagent.Config
	for i := range 3 {
		node := nodeagent.SimulatedNodeConfig(fmt.Sprintf("host-%d", i), i, false)
		cfgs = append(cfgs, nodeagent.Config{Node: node, Client: c, Runtime: newRuntime(t, node)})
	}
	host, err := nodeagent.NewHost(c, cfgs)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- host.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("host: %v", err)
		}
	})
	s.CreateNamespace(t, "agent")

	for i := range 3 {
		pod := newPod(fmt.Sprintf("p%d", i), fmt.Sprintf("host-%d", i))
		if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		p := waitPod(t, c, "agent", fmt.Sprintf("p%d", i), "Ready", podReady)
		if want := fmt.Sprintf("100.64.0.%d", i+1); p.Status.HostIP != want {
			t.Errorf("pod p%d: hostIP %s, want %s (its node's)", i, p.Status.HostIP, want)
		}
	}

	// A label added to a node after it registered is seen at admission.
	if _, err := c.CoreV1().Nodes().Patch(ctx, "host-1", "application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"zone":"blue"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNodeLabel(t, c, "host-1", "zone")
	pod := newPod("selective", "host-1")
	pod.Spec.NodeSelector = map[string]string{"zone": "blue"}
	// The watch may lag the patch's response a little; admission must see it
	// within the time the pod takes to reach the agent.
	if _, err := c.CoreV1().Pods("agent").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, "agent", "selective", "Running or Failed", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodFailed
	})
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("pod with a matching nodeSelector rejected: %s %s", p.Status.Reason, p.Status.Message)
	}
}

func waitNodeLabel(t *testing.T, c kubernetes.Interface, name, label string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && n.Labels[label] != "", nil
	})
	if err != nil {
		t.Fatalf("node %s never got label %s", name, label)
	}
}
