// Package nodeagent is kubelite's kubelet: it registers its Node, keeps the
// node's Lease and status current, runs the pods bound to the node through a
// runtime.Runtime and reports their status.
//
// The parts:
//   - nodeconfig.go (what a node is: local or simulated), node.go,
//     nodecondition.go, nodeheartbeat.go, lease.go: the Node object
//     (registration, capacity, conditions, nodeInfo) and its heartbeat Lease in
//     kube-node-lease. The Lease is renewed every 10 s, each node at its own
//     offset; NodeStatus is written when it changed, or every 5 minutes.
//   - agent.go: Agent ties one node's parts together (Config → New → Run).
//   - pods.go, probe.go, status.go, admit.go: a level-triggered loop over the
//     node's pods.
//     Each sync of a pod compares what its spec asks for with what the runtime
//     holds, takes the next step (start the next init container, restart an
//     exited container, stop a deleted pod), and writes the pod's status when it
//     changed. One queue per node and timers for delayed work, not a goroutine
//     per pod, so that one process can host thousands of nodes.
//   - host.go: many agents in one process (simulated nodes) sharing one watch of
//     bound pods, dispatched by node name.
//   - streampod.go and stream/: the node's HTTPS endpoint (the kubelet port):
//     container logs, exec, attach and port-forward, which the API server
//     proxies pods/log, pods/exec, ... and nodes/proxy to. One endpoint serves
//     one agent or a whole host.
//   - runtime/: the Runtime interface, runtime/simulated (lifecycles as data,
//     no processes) and the conformance suite every runtime passes.
//   - volumes/: the pods' volumes on the host for runtime/containerd
//     (emptyDir, configMap, secret, downwardAPI, projected with service
//     account tokens, hostPath, claims on hostPath and local volumes),
//     rewritten atomically when the objects they project change.
package nodeagent
