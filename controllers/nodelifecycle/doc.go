// Package nodelifecycle watches each Node and its heartbeat Lease in
// kube-node-lease, as upstream's node lifecycle controller does.
//
// A node is healthy while its agent renews the Lease or posts a new Ready
// heartbeat: the controller notes, by its own clock, when it last saw
// either change (the probe time). When nothing changed for the grace period
// (upstream's node-monitor-grace-period, 50 s; a node that never reported a
// Ready condition gets the startup grace period, 60 s, from its creation),
// the node's Ready, MemoryPressure, DiskPressure and PIDPressure conditions
// become Unknown ("NodeStatusUnknown", "Kubelet stopped posting node
// status."; a condition never posted gets "NodeStatusNeverUpdated"), and the
// Ready condition of its pods is set False, once per not-ready spell, with a
// NodeNotReady event.
//
// The node's taints follow its conditions (upstream's TaintNodesByCondition):
// NoSchedule taints not-ready (Ready False), unreachable (Ready Unknown),
// memory-pressure, disk-pressure, pid-pressure and network-unavailable (each
// True), and unschedulable for spec.unschedulable; plus the NoExecute taint
// not-ready or unreachable while Ready is False or Unknown. The taint
// eviction controller acts on the NoExecute ones. Taints go when their
// cause does.
//
// Disruption handling, simplified from upstream: nodes are grouped by zone
// (topology labels; nodes labelled node.kubernetes.io/exclude-disruption are
// left out). When no zone has a Ready node, no node gets a NoExecute taint
// and those present are removed (upstream's master disruption mode). A zone
// with at least three not-ready nodes that are at least 55% of it is
// partially disrupted: its nodes get no new NoExecute taint (upstream stops
// them in zones of up to 50 nodes and slows them to 0.01 nodes/s above).
// Zone counts are updated as each node is synced, so the first two nodes
// of a failing zone are tainted before it counts as disrupted.
// Otherwise NoExecute taints are added as soon as a node is not ready,
// without upstream's 0.1 nodes/s rate limit.
package nodelifecycle
