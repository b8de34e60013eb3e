// Package apis decides which API groups and versions kubelite serves and builds the
// runtime.Scheme they live in.
//
// kubelite stores and serves the upstream k8s.io/api types directly: every served type
// is registered a second time under its group's internal version ("__internal"), so
// the generic apiserver's hub version is the external type of the group's preferred
// version. Conversions run only where a kind has two Go types: events.k8s.io
// Events stored as core Events, and autoscaling/v1 autoscalers stored as
// autoscaling/v2 ones (conversion.go, autoscaling.go). Defaulting (package defaults), field-label conversions (for field
// selectors) and url.Values conversions for subresource options are registered here
// too. The generated OpenAPI definitions live in package openapi.
package apis
