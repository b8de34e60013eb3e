// Package table renders API objects as server-side metav1.Table responses,
// the form kubectl asks for on "kubectl get".
//
// Each convertor holds a fixed list of column definitions and a row function
// that turns one object into the cells of its row. Like upstream Kubernetes,
// a convertor always fills every column, including the wide ones; columns with
// Priority 1 are hidden by kubectl unless it is run with "-o wide".
//
// The per-resource constructors (Pods, Nodes, Services, Deployments, Jobs,
// HorizontalPodAutoscalers, ...) reproduce the columns, cell formats and
// status rules of the Kubernetes 1.37 printers for the core/v1 types and the
// built-in groups kubelite serves: apps, batch, autoscaling/v2, policy,
// networking.k8s.io, discovery.k8s.io, coordination.k8s.io,
// rbac.authorization.k8s.io, scheduling.k8s.io, node.k8s.io, storage.k8s.io,
// admissionregistration.k8s.io, certificates.k8s.io and events.k8s.io. Each
// group has its own file. Resources upstream prints without special columns
// (LimitRanges, Roles, ClusterRoles) use Default, which shows only the name
// and the creation time. New builds a convertor for any other type from a
// column list and a RowFunc.
//
// Like the API server, which always asks its printers for wide output, the
// cells are never clipped: load balancer and ingress addresses are listed in
// full.
//
// Ages ("5m", "3d") are measured against a clock read once per conversion, so
// every row of one table uses the same instant.
package table
