package nodeagent_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2/ktesting"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent"
)

// TestNodeLeaseIntegration registers a simulated node with the real API
// server, sees it Ready as kubectl shows it, sees its Lease renewed, sees it
// not Ready while its runtime fails, and registers it again as a restarted
// agent would, keeping a label a user set.
func TestNodeLeaseIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := testserver.Start(t)
	const name = "sim-int-0"
	var runtimeErr atomic.Pointer[error]
	health := func(context.Context) error {
		if p := runtimeErr.Load(); p != nil {
			return *p
		}
		return nil
	}
	ns, err := nodeagent.NewNodeStatusForTest(s.Client, nodeagent.SimulatedNodeConfig(name, 0, true), 200*time.Millisecond, health)
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Register(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { ns.Run(runCtx); close(ran) }()

	node, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ready(node); got.Status != corev1.ConditionTrue || got.Reason != "KubeletReady" {
		t.Errorf("Ready condition %+v", got)
	}
	if got, want := node.Status.NodeInfo.KubeletVersion, "v"+app.KubernetesVersion; got != want {
		t.Errorf("kubeletVersion %s, want %s", got, want)
	}
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", s.Kubeconfig, "get", "node", name, "--no-headers").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl get node: %v: %s", err, out)
		}
		if f := strings.Fields(string(out)); len(f) < 5 || f[0] != name || f[1] != "Ready" || f[4] != nodeagent.KubeletVersion {
			t.Errorf("kubectl get node: %q, want %s Ready ... %s", out, name, nodeagent.KubeletVersion)
		}
	} else {
		t.Log("no kubectl: skipping its view")
	}

	// The Lease is created, owned by the Node, and renewed.
	var first *coordinationv1.Lease
	waitFor(t, "the lease renewed twice", func() bool {
		l, err := s.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		if first == nil {
			first = l
		}
		return l.Spec.RenewTime.Sub(first.Spec.RenewTime.Time) >= 300*time.Millisecond
	})
	if got := first.OwnerReferences; len(got) != 1 || got[0].UID != node.UID || got[0].Kind != "Node" || got[0].APIVersion != "v1" {
		t.Errorf("lease owners %+v, want the node %s", got, node.UID)
	}
	if *first.Spec.HolderIdentity != name || *first.Spec.LeaseDurationSeconds != 40 {
		t.Errorf("lease spec %+v", first.Spec)
	}

	// A failing runtime makes the node not Ready, and a working one Ready.
	down := errors.New("container runtime is down")
	runtimeErr.Store(&down)
	waitForReady(t, s, name, corev1.ConditionFalse, "container runtime is down")
	runtimeErr.Store(nil)
	waitForReady(t, s, name, corev1.ConditionTrue, "kubelet is posting ready status")

	// An unchanged status is not written again (for minutes), while the Lease
	// is renewed every period. First the node lifecycle controller takes
	// off the not-ready taint it put on while the node was not Ready.
	var before *corev1.Node
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		before = n
		for _, taint := range n.Spec.Taints {
			if taint.Key == corev1.TaintNodeNotReady {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("not-ready taint stays on a Ready node: %v", before.Spec.Taints)
	}
	time.Sleep(time.Second)
	after, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if before.ResourceVersion != after.ResourceVersion {
		t.Errorf("unchanged node written: resourceVersion %s, then %s", before.ResourceVersion, after.ResourceVersion)
	}

	// The agent restarts: a user's label and taint stay, its own come back.
	stopRun()
	<-ran
	patch := `{"metadata":{"labels":{"team":"blue","kubernetes.io/hostname":"wrong"}},"spec":{"taints":[{"key":"dedicated","value":"db","effect":"NoSchedule"}]}}`
	if _, err := s.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := nodeagent.NewNodeStatusForTest(s.Client, nodeagent.SimulatedNodeConfig(name, 0, true), 200*time.Millisecond, health)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Register(ctx); err != nil {
		t.Fatal(err)
	}
	node, err = s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Labels["team"] != "blue" || node.Labels[corev1.LabelHostname] != name || node.Labels[nodeagent.LabelSimulated] != "true" {
		t.Errorf("labels after restart: %v", node.Labels)
	}
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != "dedicated" {
		t.Errorf("taints after restart: %v", node.Spec.Taints)
	}
}

func ready(node *corev1.Node) corev1.NodeCondition {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c
		}
	}
	return corev1.NodeCondition{}
}

func waitForReady(t *testing.T, s *testserver.Server, name string, status corev1.ConditionStatus, message string) {
	t.Helper()
	waitFor(t, "Ready "+string(status), func() bool {
		n, err := s.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		c := ready(n)
		return c.Status == status && c.Message == message
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// BenchmarkNodeMemoryServer measures the memory 1,000 nodes' status and Lease
// hold after registering with the real API server and one heartbeat each.
func BenchmarkNodeMemoryServer(b *testing.B) {
	const nodes = 1000
	ctx := context.Background()
	s := testserver.Start(b)
	for b.Loop() {
		statuses := make([]*nodeagent.NodeStatusForTest, nodes)
		for i := range statuses {
			ns, err := nodeagent.NewNodeStatusForTest(s.Client, nodeagent.SimulatedNodeConfig(fmt.Sprintf("mem-%d", i), i, true), 10*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if err := ns.Register(ctx); err != nil {
				b.Fatal(err)
			}
			ns.Heartbeat(ctx)
			statuses[i] = ns
		}
		held := heapAlloc()
		runtime.KeepAlive(statuses)
		freed := heapAlloc()
		b.ReportMetric((float64(held)-float64(freed))/nodes, "heap-B/node")
		if err := s.Client.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			b.Fatal(err)
		}
		if err := s.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
