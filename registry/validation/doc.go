// Package validation checks objects of the core/v1 API and of the built-in
// v1 groups (apps, batch, autoscaling, policy, networking, scheduling, node,
// rbac, coordination, discovery, storage, admissionregistration,
// certificates) the way a Kubernetes 1.37 API server does, and reports
// problems as a field.ErrorList whose paths and error types (Required,
// Invalid, Forbidden, NotSupported, Duplicate, TooLong, TooMany, NotFound)
// match the upstream server's. Where upstream's declarative validation
// supersedes a handwritten check, upstream lists that error after the
// others; this package mostly keeps the handwritten order.
//
// CEL is never compiled: admission policies and webhook match conditions
// are checked for structure only.
//
// Every kind K has two entry points:
//
//	K(obj)            validates an object about to be created, including its
//	                  ObjectMeta (name rule, namespace required or forbidden).
//	KUpdate(obj, old) validates an update: ObjectMeta update rules, immutable
//	                  fields, and the validity of the whole new object.
//
// Kinds with a status subresource also have KStatusUpdate(obj, old),
// CertificateSigningRequestApprovalUpdate validates the approval
// subresource, and Binding validates a pods/binding request. Some update
// functions leave the metadata update rules to the generic registry, as
// their upstream counterparts do; each says so. PodSpec and
// PodTemplateSpec are exported so that workload kinds (apps, batch) can
// reuse them.
//
// Like upstream, validation runs after defaulting: fields the API server
// defaults (restartPolicy, dnsPolicy, terminationGracePeriodSeconds,
// container terminationMessagePolicy and imagePullPolicy, port protocols,
// service sessionAffinity and type, ...) are reported as Required when empty.
// Callers must apply the core/v1 defaults before calling these functions.
//
// The functions are pure: they never modify their arguments and keep no
// state, so they are safe to call concurrently.
package validation
