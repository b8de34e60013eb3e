// Package validation checks core/v1 objects the way a Kubernetes 1.37 API
// server does, and reports problems as a field.ErrorList whose paths and
// error types (Required, Invalid, Forbidden, NotSupported, Duplicate,
// TooLong, NotFound) match the upstream server's.
//
// Every kind K has two entry points:
//
//	K(obj)            validates an object about to be created, including its
//	                  ObjectMeta (name rule, namespace required or forbidden).
//	KUpdate(obj, old) validates an update: ObjectMeta update rules, immutable
//	                  fields, and the validity of the whole new object.
//
// Kinds with a status subresource also have KStatusUpdate(obj, old), and
// Binding validates a pods/binding request. PodSpec and PodTemplateSpec are
// exported so that workload kinds (apps, batch) can reuse them.
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
