// Package job implements the Job controller: it runs a Job's pods until
// enough of them succeed, or the Job fails, as upstream's controller does.
//
// Each sync of a Job, level-triggered and keyed by namespace/name:
//
//  1. Reads the Job's pods from the cache (pods whose controller reference
//     is the Job). Pods the controller created carry the
//     batch.kubernetes.io/job-tracking finalizer, so a finished pod cannot
//     disappear before it is counted.
//  2. Decides whether the Job is done: the pod failure policy (FailJob),
//     backoffLimit (BackoffLimitExceeded), activeDeadlineSeconds
//     (DeadlineExceeded), the success policy of an Indexed Job
//     (SuccessPolicy) or enough completions (CompletionsReached). A failing
//     Job first gets FailureTarget, a succeeding one SuccessCriteriaMet; its
//     active pods are deleted, and Failed or Complete follows once no pod is
//     left uncounted or terminating.
//  3. Otherwise creates or deletes pods so that min(parallelism, remaining
//     completions) run, one per pending index for an Indexed Job (with the
//     completion index annotation, label, JOB_COMPLETION_INDEX and hostname
//     <job>-<index>). A suspended Job has its pods deleted. After failures,
//     new pods wait an exponential back-off (10 s doubling, at most 6 min by
//     default). Creations and deletions are remembered as expectations, so a
//     sync never acts twice on a stale cache.
//  4. Counts finished pods: their uids go into status.uncountedTerminatedPods
//     first, then their finalizers are removed, then they move into
//     status.succeeded / status.failed (status.completedIndexes for an
//     Indexed Job). It also writes startTime, completionTime, active, ready,
//     terminating and the Suspended condition.
//
// An Indexed Job with backoffLimitPerIndex counts failures per index
// (perindex.go): its pods carry the index's failure count, a failed index
// (at the limit, or a FailIndex rule) gets no more pods and is listed in
// status.failedIndexes, and the Job fails with FailedIndexes or
// MaxFailedIndexesExceeded.
//
// While pod creations or deletions are outstanding, active, ready and
// terminating keep their last values, since the cache's pods are stale;
// while the cache still shows a Job at a version this controller's own
// status write replaced, the Job is not synced at all (its update event
// queues it again).
//
// Orphan pods the Job's selector matches are adopted (controller reference
// and tracking finalizer, after a fresh read of the Job), and pods that no
// longer match are released.
// Pods that carry the finalizer but whose Job is gone (deleted, or the pods
// orphaned) have it removed once the server confirms the Job is gone.
// Jobs whose spec.managedBy names another controller are left alone.
//
// Events: SuccessfulCreate, FailedCreate, SuccessfulDelete, FailedDelete,
// Suspended, Resumed, Completed, TooManySucceededPods, and the failure
// reason (BackoffLimitExceeded, DeadlineExceeded, ...) when a Job fails.
package job
