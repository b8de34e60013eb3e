// Package garbagecollector implements the garbage collector: it deletes
// objects whose owners are gone and carries out the foreground and orphan
// deletion that the API server only records.
//
// The collector watches the metadata of every resource the server serves
// that can be listed, watched and deleted (custom resources too; events are
// left out), through metadata informers it starts and stops (or the shared
// informers Config.Informers gives) as discovery, refreshed every
// DiscoveryInterval, shows resources come and go. The
// informers feed a graph: each observed object by uid, and for every uid
// named in an ownerReference the objects naming it. Each change queues the
// uids it may affect, and one level-triggered sync per uid decides, from the
// object's current state:
//
//   - An object with ownerReferences whose owners are all gone is deleted
//     (background propagation, unless its own finalizers ask for orphan or
//     foreground). An owner is looked up by the reference's apiVersion, kind
//     and name, in the dependent's namespace when the owner's kind is
//     namespaced, and is gone only if the server answers NotFound or returns
//     an object with another uid (a dangling reference). Any other failure,
//     including a kind the server is not known to serve, leaves the object
//     alone and is retried. When some owners remain, references to the
//     missing ones are removed instead.
//   - An owner with a deletionTimestamp and the foregroundDeletion finalizer
//     has its dependents deleted (each in the foreground itself when it has
//     dependents of its own); once no dependent with blockOwnerDeletion is
//     left, the finalizer is removed and the server removes the owner. A
//     dependent with other owners still alive only loses its reference.
//   - An owner with a deletionTimestamp and the orphan finalizer has its
//     references removed from every dependent, then the finalizer.
//   - A cluster-scoped object naming a namespaced owner is invalid: it is
//     never collected, and an OwnerRefInvalidNamespace warning event is
//     recorded on it. A namespaced object naming an owner the graph has seen
//     in another namespace gets the same event; that reference is dangling.
//
// The API server sets the finalizers for propagationPolicy Foreground and
// Orphan (the generic registry does, with garbage collection enabled).
// Deletes carry uid and resourceVersion preconditions, and metadata patches
// carry both in the patch, so a decision never applies to a newer state than
// it was made for.
package garbagecollector
