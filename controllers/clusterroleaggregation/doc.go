// Package clusterroleaggregation implements the cluster role aggregation
// controller: it fills in the rules of every ClusterRole that has an
// aggregationRule.
//
// An aggregated role, such as the default admin, edit and view roles, lists
// label selectors instead of rules. Its rules are the union of the rules of
// every other ClusterRole that one of its selectors matches: selectors are
// taken in order, the roles a selector matches in name order, and each
// role's rules in order, keeping the first copy of a rule that appears more
// than once. The order is upstream Kubernetes's, so the stored rules are the
// same and do not churn. Whatever rules the aggregated role held before are
// replaced.
//
// The controller is level-triggered. Any change to a cluster role (create,
// update, delete) queues the aggregated roles whose selectors match the
// role's old or new labels, and the role itself if it is aggregated. Each
// queued role is recomputed from the informer cache and written only when
// its rules differ. Aggregation chains work: edit is labelled to be
// aggregated into admin, so a change to edit's rules requeues admin.
//
// Usage (client is a kubernetes.Interface with update access to cluster
// roles; writing arbitrary rules needs the "escalate" verb, which the
// system:controller:clusterrole-aggregation-controller role grants):
//
//	factory := informers.NewSharedInformerFactory(client, 0)
//	ctrl, err := clusterroleaggregation.New(clusterroleaggregation.Config{
//		Client:   client,
//		Informer: factory.Rbac().V1().ClusterRoles(),
//	})
//	if err != nil {
//		return err
//	}
//	factory.Start(ctx.Done())
//	return ctrl.Run(ctx, 5) // blocks until ctx ends
package clusterroleaggregation
