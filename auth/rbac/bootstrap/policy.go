package bootstrap

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	authuser "k8s.io/apiserver/pkg/authentication/user"
)

// ClusterRoles returns the default cluster roles: the user-facing roles,
// the roles of cluster components and one role per controller.
func ClusterRoles() []rbacv1.ClusterRole {
	return slices.Concat(userRoles(), systemRoles(), controllerRoles())
}

// ClusterRoleBindings returns the default cluster role bindings. Each binds
// the cluster role of the same name.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	bindings := []rbacv1.ClusterRoleBinding{
		clusterRoleBinding("cluster-admin", group(authuser.SystemPrivilegedGroup)),
		clusterRoleBinding("system:monitoring", group(authuser.MonitoringGroup)),
		clusterRoleBinding("system:discovery", group(authuser.AllAuthenticated)),
		clusterRoleBinding("system:basic-user", group(authuser.AllAuthenticated)),
		clusterRoleBinding("system:public-info-viewer", group(authuser.AllAuthenticated), group(authuser.AllUnauthenticated)),
		clusterRoleBinding("system:node-proxier", user(authuser.KubeProxy)),
		clusterRoleBinding("system:kube-controller-manager", user(authuser.KubeControllerManager)),
		clusterRoleBinding("system:kube-dns", serviceAccount(metav1.NamespaceSystem, "kube-dns")),
		clusterRoleBinding("system:kube-scheduler", user(authuser.KubeScheduler)),
		clusterRoleBinding("system:volume-scheduler", user(authuser.KubeScheduler)),
		// Nodes are authorized by the Node authorizer; the binding stays,
		// without subjects, so that existing clusters can drop theirs.
		clusterRoleBinding("system:node"),
		// Every workload may read the service account issuer's discovery
		// documents and the cluster trust bundles: what they reveal is
		// already in, or reachable from, any service account token.
		clusterRoleBinding("system:service-account-issuer-discovery", group(serviceaccount.AllServiceAccountsGroup)),
		clusterRoleBinding("system:cluster-trust-bundle-discovery", group(serviceaccount.AllServiceAccountsGroup)),
	}
	return append(bindings, controllerRoleBindings()...)
}

// controllerRoleBindings binds each controller role to the kube-system
// service account the controller runs as.
func controllerRoleBindings() []rbacv1.ClusterRoleBinding {
	roles := controllerRoles()
	bindings := make([]rbacv1.ClusterRoleBinding, 0, len(roles))
	for _, r := range roles {
		sa := strings.TrimPrefix(r.Name, controllerPrefix)
		bindings = append(bindings, clusterRoleBinding(r.Name, serviceAccount(metav1.NamespaceSystem, sa)))
	}
	return bindings
}
