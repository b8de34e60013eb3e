// Package scheduler is kubelite's scheduler: it watches pods that have no
// node, decides which node each should run on, and binds it there through
// the pods/binding subresource. It only decides; the node agent starts
// the pod.
//
// It places pods as upstream's kube-scheduler does with its default
// profile. Informers feed a cache of nodes and the pods assigned to them;
// a pod the scheduler has placed is counted on its node at once (assumed)
// while the binding is under way, so the next pod sees the room it takes.
// At most Config.BindParallelism binding requests (256) are under way at
// once; the others wait for a slot, so that a scheduler that places pods
// faster than the API server binds them does not flood it.
// A queue holds the pending pods: active ones by priority, ones that
// failed in backoff (1 s doubling to 10 s), and ones no node fits set
// aside until a cluster event that may help (a node added or changed, an
// assigned pod deleted) moves them back; there is no polling.
//
// Each scheduling cycle takes one pod from the queue and runs the plugins
// in package framework's order: PreFilter, Filter on the nodes in
// parallel, then PreScore and Score on the feasible nodes, weighted as
// upstream's defaults; the highest total wins, ties broken at random.
// Reserve plugins then keep what they decided for that node, and the
// binding goroutine runs the PreBind plugins (VolumeBinding binds or has
// provisioned the pod's WaitForFirstConsumer claims and waits for them)
// before it posts the binding; a failure there undoes Reserve. A
// pod that fits nowhere gets a FailedScheduling event and a PodScheduled
// condition, status False, reason Unschedulable, with upstream's message
// ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated
// taint(s). preemption: ..."); a bound one a Scheduled event.
//
// Each cycle runs on a snapshot that the cache brings up to date by
// copying only the nodes that changed. The snapshot also keeps counts that
// would otherwise cost a look at every assigned pod in every cycle: pods
// per node matching a selector, placed pods' affinity terms per topology
// domain, the values of topology keys (framework's podindex.go). It makes
// each on first use and then updates it from the pods that changed on the
// copied nodes; PodTopologySpread and InterPodAffinity read them.
//
// Nodes are judged by their taints, as upstream's scheduler does, never by
// their conditions: the node lifecycle controller turns conditions into
// taints (a NotReady node gets not-ready:NoSchedule).
//
// Only pods whose spec.schedulerName is the scheduler's name (by default
// "default-scheduler") and that have no scheduling gates are taken.
// The plugins themselves live in plugins/<name>, one package each, wired
// in one list (defaultPlugins).
package scheduler
