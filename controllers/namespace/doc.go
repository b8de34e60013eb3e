// Package namespace implements the namespace controller: it empties
// namespaces that are being deleted and then lets the API server remove them.
//
// Deleting a Namespace does not remove it at once. While its spec.finalizers
// list is non-empty (every namespace starts with the "kubernetes" finalizer),
// the API server only sets deletionTimestamp and phase Terminating, and
// refuses new objects in it. The controller then drives the namespace to its
// end, one level-triggered pass at a time:
//
//  1. Discover every namespaced resource the server offers that can be
//     emptied ("deletecollection", or "list" plus "delete").
//  2. Delete the namespace's pods first; while any pod remains (for example
//     during its termination grace period), nothing else is touched, so that
//     running pods keep their secrets, config maps and service accounts.
//  3. Delete every other resource's objects, then list again to see what
//     remains. Objects held by finalizers or in graceful deletion are waited
//     for: the namespace is requeued after an estimate of how long they need.
//  4. Record the outcome in the namespace's status conditions
//     (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
//     NamespaceDeletionContentFailure, NamespaceContentRemaining and
//     NamespaceFinalizersRemaining), with the reasons and messages upstream
//     Kubernetes uses.
//  5. Once nothing remains, remove the "kubernetes" finalizer through the
//     namespaces/{name}/finalize subresource and, if no other finalizer is
//     left, delete the namespace again so the server removes it.
//
// Usage (client is a kubernetes.Interface and meta a metadata.Interface, both
// built from the same rest.Config):
//
//	factory := informers.NewSharedInformerFactory(client, 0)
//	ctrl, err := namespace.New(namespace.Config{
//		Client:    client,
//		Metadata:  meta,
//		Discovery: client.Discovery(),
//		Informer:  factory.Core().V1().Namespaces(),
//	})
//	if err != nil {
//		return err
//	}
//	factory.Start(ctx.Done())
//	return ctrl.Run(ctx, 5) // blocks until ctx ends
package namespace
