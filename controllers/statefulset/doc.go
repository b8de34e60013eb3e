// Package statefulset implements the StatefulSet controller: pods with
// stable names "<set>-<ordinal>", each with its own PersistentVolumeClaims
// "<template>-<set>-<ordinal>", created, updated and deleted in ordinal
// order, as upstream's controller does.
//
// Each sync of a set, level-triggered and keyed by namespace/name:
//
//  1. Revisions. The set's pod template is stored as a ControllerRevision
//     (see controllers/internal/history); the update revision is the one of
//     the template now, the current revision the one status names. A
//     template equal to an older revision's (kubectl rollout undo) makes
//     that revision the newest again. Orphan revisions the selector matches
//     are adopted.
//  2. Pods. Pods named as members and matched by the selector are claimed
//     (orphans adopted, non-matching pods released). Ordinals from
//     spec.ordinals.start up to replicas are processed lowest first: a
//     missing pod is created (claims first) with the labels
//     controller-revision-hash, statefulset.kubernetes.io/pod-name and
//     apps.kubernetes.io/pod-index, hostname <pod> and subdomain
//     spec.serviceName, at the current revision below the partition and at
//     the update revision from it; a failed or succeeded pod is deleted to
//     be recreated. With podManagementPolicy OrderedReady the sync stops at
//     the first pod that is not running, ready and available
//     (minReadySeconds); with Parallel all are done at once.
//  3. Scale down. Pods out of range are deleted highest ordinal first;
//     OrderedReady deletes one at a time and only while the others are
//     healthy. Claims get owner references per
//     persistentVolumeClaimRetentionPolicy: the set when whenDeleted is
//     Delete, the condemned pod when whenScaled is Delete, so the garbage
//     collector deletes them with their owner.
//  4. Update. RollingUpdate deletes pods of old revisions from the highest
//     ordinal down to the partition, at most maxUnavailable unavailable at
//     a time; OnDelete leaves them until the user deletes them.
//  5. Status: replicas, ready, available, current and updated counts,
//     revisions, collisionCount and observedGeneration; once every replica
//     is updated and ready the update revision becomes the current one.
//     Revisions neither status nor a pod uses are deleted beyond
//     revisionHistoryLimit.
//
// Events are upstream's: SuccessfulCreate "Create Pod web-0 in StatefulSet
// web successful", "Create Claim data-web-0 Pod web-0 in StatefulSet web
// success", SuccessfulDelete, and their Failed counterparts.
package statefulset
