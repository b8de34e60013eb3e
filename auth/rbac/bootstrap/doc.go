// Package bootstrap holds kubelite's default RBAC policy and the reconciler
// that installs it: the cluster roles, cluster role bindings, roles and role
// bindings that an upstream Kubernetes 1.37 API server creates on its first
// start when RBAC authorization is enabled, with the same names, labels
// (kubernetes.io/bootstrapping: rbac-defaults), annotations
// (rbac.authorization.kubernetes.io/autoupdate: "true"), aggregation rules,
// rules and subjects.
//
// The policy is what upstream ships with its default feature gates. It is
// grouped by audience:
//
//   - roles_user.go: the user-facing roles (cluster-admin, admin, edit, view
//     and the system:aggregate-to-* roles they aggregate from) and the
//     discovery, basic-user, public-info-viewer and monitoring roles;
//   - roles_system.go: the roles of cluster components (system:node,
//     system:kube-scheduler, system:kube-controller-manager, ...);
//   - roles_controller.go: one system:controller:<name> role per controller,
//     each bound to the kube-system service account of the same name;
//   - policy.go: ClusterRoles and ClusterRoleBindings, which put these
//     together;
//   - namespaced.go: the roles and bindings kept in kube-system and
//     kube-public.
//
// Every function returns fresh values, so callers may modify what they get.
//
// Reconcile brings a running API server in line with the policy, as upstream's
// post-start hook does: missing objects are created, and objects annotated
// rbac.authorization.kubernetes.io/autoupdate=true gain the rules, selectors,
// subjects, labels and annotations they lack. Nothing is ever removed, and
// objects annotated autoupdate=false are left alone. Call it once the API
// server serves requests, with a client that may write RBAC objects, and
// retry it until it succeeds:
//
//	err := wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true,
//		func(ctx context.Context) (bool, error) {
//			if err := bootstrap.Reconcile(ctx, loopbackClient); err != nil {
//				klog.FromContext(ctx).Error(err, "Reconciling default RBAC policy failed, retrying")
//				return false, nil
//			}
//			return true, nil
//		})
//
// The rules of the aggregated roles (admin, edit, view) are filled in by the
// cluster role aggregation controller
// (github.com/kubelite/kubelite/controllers/clusterroleaggregation), not here.
package bootstrap
