// Package deployment implements the Deployment controller: it rolls a
// Deployment's pod template out through ReplicaSets, one per template, and
// keeps the Deployment's status and revision history.
//
// Each level-triggered sync of a Deployment (keyed by namespace/name):
//
//  1. Claims ReplicaSets: those it controls and its selector matches;
//     orphans that match are adopted, controlled ones that stop matching
//     are released. The one whose template equals the Deployment's
//     (ignoring the pod-template-hash label) is the current ("new") one.
//  2. A Deployment being deleted only gets its status written. A paused
//     one, or one whose replicas changed since its sets were last scaled,
//     is only resized: one active set takes all replicas; when the current
//     set is fully available the old ones go to zero; otherwise the change
//     is spread over the active sets in proportion to their size.
//  3. Otherwise it rolls out. RollingUpdate creates the current set if
//     needed (named <deployment>-<hash>, with the hash in its selector and
//     template labels) and scales it up within maxSurge, then scales old
//     sets down within maxUnavailable, their unavailable replicas first.
//     Recreate scales every old set to zero, waits until none of their pods
//     runs, then brings the current set up.
//  4. Revisions: the current set carries deployment.kubernetes.io/revision,
//     one more than any old set's (a set that becomes current again keeps
//     its earlier numbers in revision-history), and the Deployment carries
//     the current set's revision. The Deployment's annotations are copied to
//     the current set (kubectl's change-cause among them), so
//     `kubectl rollout history` and `undo` work as upstream. Once a rollout
//     is complete, old sets at zero beyond revisionHistoryLimit are deleted.
//  5. Status: replicas, updatedReplicas, readyReplicas, availableReplicas,
//     unavailableReplicas, terminatingReplicas, observedGeneration,
//     collisionCount, and the conditions Available (MinimumReplicasAvailable
//     / MinimumReplicasUnavailable), Progressing (NewReplicaSetCreated,
//     FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
//     ProgressDeadlineExceeded, DeploymentPaused, DeploymentResumed) and
//     ReplicaFailure (copied from a ReplicaSet). The Deployment is synced
//     again when its progress deadline passes.
package deployment
