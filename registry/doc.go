// Package registry serves every resource through one generic store.
//
// Each resource is a row of policy (Resource): its names, its Go types, its
// validation and preparation hooks, its table columns and its subresources. NewStorage
// turns a row into k8s.io/apiserver genericregistry.Store values driven by one
// generic strategy type that reads the row. All rows live in resources.go; logic
// specific to one resource is a small named function referenced from its row (see
// pod.go, service.go, namespace.go).
package registry
