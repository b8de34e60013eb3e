package nodeagent

import (
	"context"
	"time"

	"k8s.io/client-go/kubernetes"
)

// NodeStatusForTest gives the external tests of package nodeagent_test
// (which may import packages that import nodeagent) the unexported
// nodeStatus.
type NodeStatusForTest struct{ s *nodeStatus }

// NewNodeStatusForTest returns the node status of node, heartbeating every
// period.
func NewNodeStatusForTest(client kubernetes.Interface, node NodeConfig, period time.Duration, ready ...func(context.Context) error) (*NodeStatusForTest, error) {
	s, err := newNodeStatus(nodeStatusConfig{Client: client, Node: node, Ready: ready})
	if err != nil {
		return nil, err
	}
	s.period = period
	return &NodeStatusForTest{s}, nil
}

// Register calls register.
func (n *NodeStatusForTest) Register(ctx context.Context) error { return n.s.register(ctx) }

// Run calls run.
func (n *NodeStatusForTest) Run(ctx context.Context) { n.s.run(ctx) }

// Heartbeat renews the Lease and syncs the status once.
func (n *NodeStatusForTest) Heartbeat(ctx context.Context) { n.s.heartbeat(ctx, time.Time{}) }
