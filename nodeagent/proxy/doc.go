// Package proxy is kubelite's service proxy: the part kube-proxy plays on
// an upstream node. It watches Services and EndpointSlices and programs the
// node's nftables (an nft table of its own, through sigs.k8s.io/knftables)
// so that connections to a Service reach one of its endpoints:
//
//   - ClusterIP: the cluster IP and port are DNATed to a ready endpoint,
//     picked at random (numgen), or by the client's address for
//     sessionAffinity ClientIP (a dynamic set per endpoint with the
//     affinity timeout).
//   - NodePort: the node port on any of the node's addresses (not
//     127.0.0.0/8, as upstream's nftables mode), LoadBalancer ingress IPs
//     and externalIPs go through an "external" chain that masquerades and
//     then does the same, or for externalTrafficPolicy Local keeps the
//     client's address and uses only this node's endpoints.
//   - internalTrafficPolicy Local: cluster IP traffic goes to this node's
//     endpoints only.
//   - headless and ExternalName Services have no rules.
//   - A Service port with no usable endpoint is rejected (ICMP port
//     unreachable, TCP reset) rather than left to time out; an external
//     destination with endpoints elsewhere but none here under
//     externalTrafficPolicy Local is dropped.
//
// Endpoints are chosen as upstream's proxies choose them: ready ones;
// when a Service has none, serving-and-terminating ones; a Local policy
// looks at this node's endpoints alone with the same fallback.
//
// Traffic to a cluster IP from outside the cluster's pod CIDRs, traffic a
// pod sends to its own Service (hairpin), and external traffic under
// externalTrafficPolicy Cluster is masqueraded in postrouting, marked on
// the way in. When a UDP endpoint goes away, its conntrack entries are
// deleted, so that clients' flows move to another endpoint instead of
// blackholing; when a UDP Service gets its first endpoint, the entries of
// the rejected packets go too.
//
// Every sync computes the whole ruleset from the informers' caches (a
// Service whose object and slices are the ones of the last sync reuses
// what was computed for it) and sends the kernel only the difference from
// the last one applied, in one nft transaction; bursts of changes are
// coalesced into one sync at most every MinSyncInterval. A first sync, or
// one after a failure, starts the table over; every minute the proxy
// checks that the table is still there and rebuilds it if not. The layout of the table follows upstream's
// nftables proxier in what a user sees (chain and map names of the same
// shape), with code of its own.
package proxy
