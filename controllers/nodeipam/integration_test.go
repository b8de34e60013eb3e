package nodeipam_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/controllers/nodeipam"
)

// TestNodeIPAM runs the controller in a real server whose cluster CIDR holds
// three /24s, beside one simulated node (whose own pod CIDR, outside the
// cluster CIDR, stays as it is). Nodes registered without a pod CIDR each get a
// distinct one; a fourth waits with CIDRNotAvailable until a Node is
// deleted, then gets the freed CIDR; a restarted server keeps every
// assignment and hands out no CIDR twice.
func TestNodeIPAM(t *testing.T) {
	ctx := context.Background()
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:   t.TempDir(),
		Simulated: app.SimulatedNodesConfig{Count: 1},
		Controllers: app.ControllersConfig{NodeIPAM: app.NodeIPAMConfig{
			ClusterCIDR: "10.42.0.0/22", ServiceCIDRs: "10.42.3.0/24,10.96.0.0/12",
		}},
	})
	c := s.Client

	want := map[string]bool{"10.42.0.0/24": true, "10.42.1.0/24": true, "10.42.2.0/24": true}
	got := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		createNode(t, c, name)
	}
	for _, name := range []string{"a", "b", "c"} {
		n := waitCIDR(t, c, name)
		if len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDR != n.Spec.PodCIDRs[0] || !want[n.Spec.PodCIDR] {
			t.Fatalf("node %s: podCIDR %q, podCIDRs %v; want one of %v", name, n.Spec.PodCIDR, n.Spec.PodCIDRs, want)
		}
		if other, dup := got[n.Spec.PodCIDR]; dup {
			t.Fatalf("nodes %s and %s both got %s", other, name, n.Spec.PodCIDR)
		}
		got[n.Spec.PodCIDR] = name
	}
	// The simulated node registers once its node token is made: wait for it.
	var sim *corev1.Node
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, "kubelite-sim-0000", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		sim = n
		return true, nil
	})
	if err != nil {
		t.Fatalf("simulated node not registered: %v", err)
	}
	if sim.Spec.PodCIDR != "10.128.0.0/24" {
		t.Errorf("simulated node's podCIDR = %q, want its own 10.128.0.0/24", sim.Spec.PodCIDR)
	}

	// Full: the fourth Node waits, with an event.
	createNode(t, c, "d")
	waitEvent(t, c, "d", nodeipam.ReasonCIDRNotAvailable)
	if n, _ := c.CoreV1().Nodes().Get(ctx, "d", metav1.GetOptions{}); n != nil && n.Spec.PodCIDR != "" {
		t.Fatalf("node d got %s from a full cluster CIDR", n.Spec.PodCIDR)
	}
	if err := c.CoreV1().Nodes().Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	freed := ""
	for cidr, name := range got {
		if name == "b" {
			freed = cidr
		}
	}
	if n := waitCIDR(t, c, "d"); n.Spec.PodCIDR != freed {
		t.Fatalf("node d got %s, want b's freed %s", n.Spec.PodCIDR, freed)
	}

	// After a restart the allocation is rebuilt from the Nodes: a new Node
	// finds the range full instead of getting a CIDR that is in use.
	s = s.Restart(t)
	c = s.Client
	createNode(t, c, "e")
	waitEvent(t, c, "e", nodeipam.ReasonCIDRNotAvailable)
	if err := c.CoreV1().Nodes().Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := waitCIDR(t, c, "e"); n.Spec.PodCIDR != reverse(got)["a"] {
		t.Fatalf("node e got %s, want a's freed %s", n.Spec.PodCIDR, reverse(got)["a"])
	}
}

func reverse(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[v] = k
	}
	return out
}

func createNode(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	if _, err := c.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitCIDR(t *testing.T, c kubernetes.Interface, name string) *corev1.Node {
	t.Helper()
	var node *corev1.Node
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		node = n
		return n.Spec.PodCIDR != "", nil
	})
	if err != nil {
		t.Fatalf("node %s got no pod CIDR: %v", name, err)
	}
	return node
}

func waitEvent(t *testing.T, c kubernetes.Interface, node, reason string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: fields.Set{"involvedObject.name": node, "reason": reason}.String()})
		return err == nil && len(list.Items) > 0, nil
	})
	if err != nil {
		t.Fatalf("no %s event for node %s: %v", reason, node, err)
	}
}
