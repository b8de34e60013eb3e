// Package replicaset implements the ReplicaSet and ReplicationController
// controllers: one implementation that keeps as many pods as a set's
// spec.replicas, for either kind (a Controller manages one of them).
//
// Each sync of a set, level-triggered and keyed by namespace/name:
//
//  1. Claims pods. Active pods (not finished, not being deleted) that the
//     set controls and its selector matches are its pods. Orphans the
//     selector matches are adopted: they get a controller reference
//     (controller=true, blockOwnerDeletion=true) after the set is re-read
//     from the server to make sure it is not being deleted. Pods the set
//     controls that no longer match are released: the reference is removed.
//     Each change is a merge patch bound to the pod's uid and
//     resourceVersion.
//  2. Creates or deletes pods to match spec.replicas, at most BurstReplicas
//     per sync. Creations run in slow-start batches of 1, 2, 4, ... and stop
//     at the first failed batch (a quota says no once, not a hundred times).
//     Scale-down deletes first, as upstream: unscheduled before scheduled,
//     Pending before Unknown before Running, not ready before ready, lower
//     controller.kubernetes.io/pod-deletion-cost, pods on crowded nodes,
//     recently ready, more restarts, newer. The creations and deletions are
//     recorded as expectations; until the pod informer has shown them (or
//     five minutes pass) the set creates and deletes nothing more, so a sync
//     never acts twice on a stale cache.
//  3. Writes the status when it changed: replicas, fullyLabeledReplicas
//     (pods with all the template's labels), readyReplicas,
//     availableReplicas (ready for minReadySeconds; the set is synced again
//     when the next pod becomes available), terminatingReplicas (ReplicaSets
//     only, as upstream 1.37), observedGeneration, and the ReplicaFailure
//     condition (FailedCreate or FailedDelete) while creating or deleting
//     fails.
//
// Events: SuccessfulCreate, FailedCreate, SuccessfulDelete, FailedDelete on
// the set.
package replicaset
