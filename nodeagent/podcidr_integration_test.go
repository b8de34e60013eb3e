package nodeagent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// networkRuntime is a simulated runtime with a pod network that waits for
// the node's pod CIDRs, as the containerd runtime's CNI network does.
type networkRuntime struct {
	*simulated.Runtime
	mu    sync.Mutex
	cidrs []string
}

var _ runtime.PodNetwork = (*networkRuntime)(nil)

func (r *networkRuntime) SetPodCIDRs(cidrs []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cidrs = slices.Clone(cidrs)
	return nil
}

func (r *networkRuntime) NetworkReady() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cidrs == nil {
		return errors.New("no pod CIDR")
	}
	return nil
}

func (r *networkRuntime) podCIDRs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cidrs
}

// TestPodCIDRFromNode: an agent whose runtime has a pod network registers
// its Node without pod CIDRs, gives the network the ones the node IPAM
// controller sets, and is Ready then.
func TestPodCIDRFromNode(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:     t.TempDir(),
		Controllers: app.ControllersConfig{NodeIPAM: app.NodeIPAMConfig{ClusterCIDR: "10.42.0.0/16"}},
	})
	sim, err := simulated.New(simulated.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rt := &networkRuntime{Runtime: sim}
	node := nodeagent.SimulatedNodeConfig("cidr-node", 0, false)
	node.PodCIDRs = nil
	startAgent(t, t, s.Client, node, rt)

	var got *corev1.Node
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, "cidr-node", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		got = n
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		}
		return ready && len(n.Spec.PodCIDRs) > 0 && slices.Equal(rt.podCIDRs(), n.Spec.PodCIDRs), nil
	})
	if err != nil {
		t.Fatalf("runtime has pod CIDRs %v, node %v, conditions %+v: %v", rt.podCIDRs(), got.Spec.PodCIDRs, got.Status.Conditions, err)
	}
	if got.Spec.PodCIDR != "10.42.0.0/24" {
		t.Errorf("node's pod CIDR %s, want the first of the cluster CIDR, 10.42.0.0/24", got.Spec.PodCIDR)
	}
}

// TestNetworkNotReady: until its pod network has the pod CIDRs, the Node
// is not Ready, with upstream's reason; once the Node gets them (here set by
// hand) the network takes them from the Node's watch and the Node is Ready.
func TestNetworkNotReady(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir()}) // no node IPAM
	sim, err := simulated.New(simulated.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rt := &networkRuntime{Runtime: sim}
	node := nodeagent.SimulatedNodeConfig("waiting-node", 0, false)
	node.PodCIDRs = nil
	startAgent(t, t, s.Client, node, rt)
	var ready corev1.NodeCondition
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, "waiting-node", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ready.Status != corev1.ConditionFalse || ready.Reason != "KubeletNotReady" || !strings.Contains(ready.Message, "NetworkPluginNotReady") {
		t.Errorf("Ready condition %+v, want False: network not ready", ready)
	}
	if rt.podCIDRs() != nil {
		t.Errorf("runtime got pod CIDRs %v from a Node without any", rt.podCIDRs())
	}

	patch := []byte(`{"spec":{"podCIDR":"10.99.0.0/24","podCIDRs":["10.99.0.0/24"]}}`)
	if _, err := s.Client.CoreV1().Nodes().Patch(context.Background(), "waiting-node", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 40*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := s.Client.CoreV1().Nodes().Get(ctx, "waiting-node", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c
			}
		}
		return ready.Status == corev1.ConditionTrue, nil
	})
	if err != nil || !slices.Equal(rt.podCIDRs(), []string{"10.99.0.0/24"}) {
		t.Fatalf("after the Node got a pod CIDR: Ready %+v, runtime's pod CIDRs %v: %v", ready, rt.podCIDRs(), err)
	}
}
