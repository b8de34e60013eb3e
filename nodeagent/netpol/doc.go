// Package netpol enforces networking.k8s.io/v1 NetworkPolicy for the pods of
// one node with nftables, as a node agent part (the role Calico's Felix or
// kube-network-policies play beside an upstream kubelet).
//
// # Semantics
//
// A pod is isolated for ingress (egress) when any policy of its namespace
// selects it and has Ingress (Egress) among its policy types; omitted policy
// types mean Ingress, plus Egress when the policy has egress rules. Traffic to
// (from) an isolated pod passes when any rule of any policy selecting it for
// that direction allows it: the rule's peers (podSelector in the policy's
// namespace, namespaceSelector, both together, ipBlock minus its excepts; none
// means everyone) and ports (protocol, number, endPort range, or a named port
// resolved from the target pod's container ports for ingress and from the
// destination pod's for egress; none means every port and protocol). Both
// directions must agree: a connection from an egress-isolated pod to an
// ingress-isolated one needs an egress rule of the first and an ingress rule
// of the second. Replies of allowed connections pass (conntrack), and so does
// traffic between a pod and its own node, which never crosses the forward
// hook. Pods are known by status.podIPs; host-network pods and finished pods
// are neither targets nor peers.
//
// # Where the rules sit
//
// Everything lives in one table, inet "kubelite-netpol", hooked on forward:
// traffic between a pod and another node is routed through the node, and so
// is traffic a Service's DNAT sends back to a pod on the same bridge. Traffic
// between two pods on the node's bridge (kubelite0) is switched, not routed;
// it reaches the inet forward hook through br_netfilter
// (net.bridge.bridge-nf-call-iptables=1, which EnsureBridgeNetfilter checks
// and sets, as upstream's kubeadm requires). The bridge family was rejected:
// its hooks see switched frames without br_netfilter, but conntrack there
// needs nf_conntrack_bridge, which kernels may lack (this project's VMs do),
// and without conntrack the replies of allowed connections cannot be told
// apart. The netdev hooks of pod veths have no conntrack either.
//
// The table's chains:
//
//	pod-forward  (hook forward, policy accept)
//	    ct state established,related accept
//	    ip saddr @egress-isolated-v4 jump pod-egress
//	    ip daddr @ingress-isolated-v4 jump pod-ingress
//	pod-egress / pod-ingress: one "return" rule per allowing policy rule, then drop
//
// (the same for ip6 with the -v6 sets). The pods a policy selects on this
// node, and the peers and named ports of each rule, are nft sets named after
// the policy (p-<hash of namespace/name>-...), so pod churn changes set
// elements only; the chains change when policies do.
//
// # Limits
//
// Traffic between a pod and its own node (host-network pods, anything the
// node serves, such as a DNS server on a node address) crosses the input and
// output hooks, not forward, and is never filtered; upstream allows the node
// too, and plugins differ on host-served addresses. An ipBlock matches pod
// addresses as well as outside ones. Egress named ports resolve on pods the
// rule's peers select, so they never match an ipBlock peer. Without
// br_netfilter only routed traffic is filtered.
//
// # Syncing
//
// Informer events mark the state dirty; one worker recomputes the whole
// ruleset at most once per MinSyncInterval and applies the difference from
// what it applied last in one nft transaction (the first sync, and the one
// after a failure, recreate the table). Rules stay in place when the agent
// stops, so pods stay isolated across restarts; Cleanup removes them.
package netpol
