// Package daemonset implements the DaemonSet controller: one pod of each
// daemon set on every node it should run on, as upstream's controller does.
//
// A node is eligible when it is the template's nodeName (if set), matches
// the template's node selector and required node affinity, and has no
// NoSchedule or NoExecute taint the pod does not tolerate. Daemon pods
// tolerate, besides the template's tolerations, what upstream adds to every
// daemon pod: node.kubernetes.io/not-ready and unreachable (NoExecute),
// disk-pressure, memory-pressure, pid-pressure and unschedulable
// (NoSchedule), and network-unavailable for host-network pods. A pod on a
// node that became ineligible stays unless a NoExecute taint evicts it.
//
// Each sync of a daemon set, level-triggered and keyed by namespace/name:
//
//  1. Revisions: the template is stored as a ControllerRevision named
//     "<set>-<hash>" (see controllers/internal/history); its hash labels the
//     pods (controller-revision-hash).
//  2. Pods are claimed (orphans the selector matches adopted, pods that no
//     longer match released) and grouped by the node they are bound to or
//     pinned to. While creations or deletions of an earlier sync are not in
//     the cache (expectations), only status is written.
//  3. Each eligible node without a pod gets one, pinned through a required
//     node affinity on metadata.name and placed by the scheduler; failed
//     pods are replaced (after a backoff per node), excess pods deleted, and
//     pods on ineligible or removed nodes deleted.
//  4. RollingUpdate replaces old pods at most maxUnavailable nodes at a time,
//     or, with maxSurge, starts new pods beside old ones on at most maxSurge
//     nodes and deletes each old pod once its replacement is available.
//     OnDelete leaves old pods until they are deleted.
//  5. Status: desired, current, misscheduled, ready, updated, available and
//     unavailable counts, collisionCount and observedGeneration. Revisions no
//     pod runs are deleted beyond revisionHistoryLimit.
//
// As upstream, pods bound to a node that no longer exists are left to the
// pod garbage collector (controllers/podgc); pods pinned to it but not yet
// bound are deleted here.
package daemonset
