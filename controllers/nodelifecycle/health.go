package nodelifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Upstream's reasons and messages for conditions the controller sets
// Unknown.
const (
	reasonUnknown       = "NodeStatusUnknown"
	messageUnknown      = "Kubelet stopped posting node status."
	reasonNeverUpdated  = "NodeStatusNeverUpdated"
	messageNeverUpdated = "Kubelet never posted node status."
)

// unknownConditions are the conditions a silent node's get set Unknown.
// NetworkUnavailable is left alone, as upstream: the network, not the
// agent, reports it.
var unknownConditions = [...]corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// health is what the controller remembers of one node between syncs.
type health struct {
	// probe is when, by the controller's clock, the node was last seen
	// alive: its Lease renewed or a new Ready heartbeat posted.
	probe time.Time
	// heartbeat is the Ready condition's lastHeartbeatTime last seen (zero
	// without a Ready condition); renew the Lease's renewTime last seen.
	heartbeat time.Time
	renew     time.Time
	// marked holds the pods whose Ready condition was set False during the
	// node's current not-ready spell; cleared when the node is Ready.
	marked map[types.UID]bool
}

// readyCondition returns node's Ready condition, or nil.
func readyCondition(node *corev1.Node) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// observe updates h (nil the first time the node is seen) from the node and
// its Lease (nil if it has none) and returns it. A first sight counts as a
// probe, except for a node that never posted a Ready condition: its probe is
// its creation, as upstream.
func observe(h *health, node *corev1.Node, lease *coordinationv1.Lease, now time.Time) *health {
	var heartbeat time.Time
	if c := readyCondition(node); c != nil {
		heartbeat = c.LastHeartbeatTime.Time
	}
	if h == nil {
		h = &health{heartbeat: heartbeat, probe: now}
		if readyCondition(node) == nil {
			h.probe = node.CreationTimestamp.Time
		}
	} else if !heartbeat.Equal(h.heartbeat) {
		h.heartbeat, h.probe = heartbeat, now
	}
	if lease != nil && lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(h.renew) {
		h.renew, h.probe = lease.Spec.RenewTime.Time, now
	}
	return h
}

// markUnknown sets node's Ready, MemoryPressure, DiskPressure and
// PIDPressure conditions Unknown, adding those the node never posted, and
// reports whether the Ready condition changed. node is modified.
func markUnknown(node *corev1.Node, now time.Time) bool {
	before := readyCondition(node).DeepCopy()
	at := metav1.NewTime(now)
	for _, typ := range unknownConditions {
		i := conditionIndex(node, typ)
		if i < 0 {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type:               typ,
				Status:             corev1.ConditionUnknown,
				Reason:             reasonNeverUpdated,
				Message:            messageNeverUpdated,
				LastHeartbeatTime:  node.CreationTimestamp,
				LastTransitionTime: at,
			})
			continue
		}
		c := &node.Status.Conditions[i]
		if c.Status != corev1.ConditionUnknown {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionUnknown, reasonUnknown, messageUnknown, at
		}
	}
	after := readyCondition(node)
	return before == nil || before.Status != after.Status || before.Reason != after.Reason
}

func conditionIndex(node *corev1.Node, typ corev1.NodeConditionType) int {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == typ {
			return i
		}
	}
	return -1
}
