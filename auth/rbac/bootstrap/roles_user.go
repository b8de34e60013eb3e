package bootstrap

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels that select the roles admin, edit and view aggregate. A role
// labelled aggregate-to-edit adds its rules to edit, and through edit (which
// is labelled aggregate-to-admin) to admin.
const (
	AggregateToAdminLabel = "rbac.authorization.k8s.io/aggregate-to-admin"
	AggregateToEditLabel  = "rbac.authorization.k8s.io/aggregate-to-edit"
	AggregateToViewLabel  = "rbac.authorization.k8s.io/aggregate-to-view"
)

// userRoles returns the roles meant to be bound to people: the superuser
// role, the namespace-level admin, edit and view roles with the roles they
// aggregate, and the minimal roles every client gets.
func userRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		// cluster-admin can do anything, anywhere.
		clusterRole("cluster-admin",
			allow("*").in(anyGroup).on("*"),
			allow("*").urls("*"),
		),
		// system:discovery is enough to check health and negotiate API versions.
		clusterRole("system:discovery",
			allow("get").urls(
				"/livez", "/readyz", "/healthz",
				"/version", "/version/",
				"/openapi", "/openapi/*",
				"/api", "/api/*",
				"/apis", "/apis/*",
			),
		),
		// system:monitoring reads metrics and the individual health checks,
		// which may reveal more than the aggregated endpoints.
		clusterRole("system:monitoring",
			allow("get").urls(
				"/metrics", "/metrics/slis",
				"/livez", "/readyz", "/healthz",
				"/livez/*", "/readyz/*", "/healthz/*",
				"/flagz", "/statusz",
			),
			allow("get").in(core).on("nodes/metrics"),
		),
		// system:basic-user lets a user learn who they are and what they may do.
		clusterRole("system:basic-user",
			allow("create").in(authorization).on("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			allow("create").in(authentication).on("selfsubjectreviews"),
		),
		// system:public-info-viewer reads what is safe to show anyone.
		clusterRole("system:public-info-viewer",
			allow("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/"),
		),

		// admin, edit and view have no rules of their own: the aggregation
		// controller fills them in from the roles their selectors match.
		aggregatedRole("admin", AggregateToAdminLabel, ""),
		aggregatedRole("edit", AggregateToEditLabel, AggregateToAdminLabel),
		aggregatedRole("view", AggregateToViewLabel, AggregateToEditLabel),

		// system:aggregate-to-admin adds the power to grant permissions
		// within a namespace.
		labelled(clusterRole("system:aggregate-to-admin",
			allow("create").in(authorization).on("localsubjectaccessreviews"),
			readWrite().in(rbac).on("roles", "rolebindings"),
		), AggregateToAdminLabel),
		// system:aggregate-to-edit covers every user-level action in a
		// namespace, but not the system's resources (status subresources,
		// quota, limits).
		labelled(clusterRole("system:aggregate-to-edit", editRules()...), AggregateToEditLabel),
		// system:aggregate-to-view reads the non-escalating resources of a
		// namespace.
		labelled(clusterRole("system:aggregate-to-view", viewRules()...), AggregateToViewLabel),
	}
}

// aggregatedRole returns a role whose rules are aggregated from the roles
// labelled selectLabel=true. If memberOf is set, the role is itself labelled
// memberOf=true, so it feeds that aggregation in turn.
func aggregatedRole(name, selectLabel, memberOf string) rbacv1.ClusterRole {
	r := rbacv1.ClusterRole{
		ObjectMeta: defaultMeta(name),
		AggregationRule: &rbacv1.AggregationRule{
			ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{selectLabel: "true"}}},
		},
	}
	if memberOf != "" {
		r = labelled(r, memberOf)
	}
	return r
}

// labelled adds label=true to a role.
func labelled(r rbacv1.ClusterRole, label string) rbacv1.ClusterRole {
	r.Labels[label] = "true"
	return r
}

// editRules are the rules of system:aggregate-to-edit.
func editRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Reading these can escalate, so view does not have them.
		read().in(core).on("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
		allow("impersonate").in(core).on("serviceaccounts"),

		write().in(core).on("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
		allow("create").in(core).on("pods/eviction"),
		write().in(core).on("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets"),
		allow("create").in(core).on("serviceaccounts/token"),
		write().in(core, events).on("events"),

		write().in(apps).on("statefulsets", "statefulsets/scale", "daemonsets",
			"deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"),
		write().in(autoscaling).on("horizontalpodautoscalers"),
		write().in(batch).on("jobs", "cronjobs"),
		write().in(extensions).on("daemonsets", "deployments", "deployments/scale", "deployments/rollback",
			"ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies"),
		write().in(policy).on("poddisruptionbudgets"),
		write().in(networking).on("networkpolicies", "ingresses"),
		readWrite().in(coordination).on("leases"),
		write().in(resource).on("resourceclaims", "resourceclaimtemplates"),
	}
}

// viewRules are the rules of system:aggregate-to-view.
func viewRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		read().in(core).on("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"),
		read().in(core).on("limitranges", "resourcequotas", "bindings", "pods/status", "resourcequotas/status",
			"namespaces/status", "replicationcontrollers/status", "pods/log"),
		// Within a namespace, this reads the namespace itself: a way to find
		// out which namespaces one has access to.
		read().in(core).on("namespaces"),
		read().in(core, events).on("events"),
		read().in(discovery).on("endpointslices"),

		read().in(apps).on("controllerrevisions",
			"statefulsets", "statefulsets/status", "statefulsets/scale",
			"daemonsets", "daemonsets/status",
			"deployments", "deployments/status", "deployments/scale",
			"replicasets", "replicasets/status", "replicasets/scale"),
		read().in(autoscaling).on("horizontalpodautoscalers", "horizontalpodautoscalers/status"),
		read().in(batch).on("jobs", "cronjobs", "cronjobs/status", "jobs/status"),
		read().in(extensions).on("daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
			"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status",
			"replicationcontrollers/scale", "networkpolicies"),
		read().in(policy).on("poddisruptionbudgets", "poddisruptionbudgets/status"),
		read().in(networking).on("networkpolicies", "ingresses", "ingresses/status"),
		read().in(resource).on("resourceclaims", "resourceclaims/status", "resourceclaimtemplates"),
	}
}
