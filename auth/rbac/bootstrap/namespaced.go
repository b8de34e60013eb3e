package bootstrap

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authuser "k8s.io/apiserver/pkg/authentication/user"
)

// Roles returns the default roles, keyed by namespace (kube-system and
// kube-public).
func Roles() map[string][]rbacv1.Role {
	return map[string][]rbacv1.Role{
		metav1.NamespaceSystem: {
			// Reads the config map in which the API server publishes its
			// client authentication settings to extension API servers.
			role(metav1.NamespaceSystem, "extension-apiserver-authentication-reader",
				read().in(core).onNamed("configmaps", "extension-apiserver-authentication"),
			),
			// The bootstrap signer inspects bootstrap token secrets.
			role(metav1.NamespaceSystem, controllerPrefix+"bootstrap-signer",
				read().in(core).on("secrets"),
			),
			// Deprecated since Kubernetes 1.10, still created upstream.
			role(metav1.NamespaceSystem, controllerPrefix+"cloud-provider",
				allow("create", "get", "list", "watch").in(core).on("configmaps"),
			),
			// The token cleaner deletes expired bootstrap token secrets.
			role(metav1.NamespaceSystem, controllerPrefix+"token-cleaner",
				allow("get", "list", "watch", "delete").in(core).on("secrets"),
				emitEvents(),
			),
			leaderLockingRole("kube-controller-manager"),
			leaderLockingRole("kube-scheduler"),
		},
		metav1.NamespacePublic: {
			// The bootstrap signer signs the cluster-info config map.
			role(metav1.NamespacePublic, controllerPrefix+"bootstrap-signer",
				read().in(core).on("configmaps"),
				allow("update").in(core).onNamed("configmaps", "cluster-info"),
				emitEvents(),
			),
		},
	}
}

// RoleBindings returns the default role bindings, keyed by namespace
// (kube-system and kube-public).
func RoleBindings() map[string][]rbacv1.RoleBinding {
	system := metav1.NamespaceSystem
	authReader := roleBinding(system, "extension-apiserver-authentication-reader",
		user(authuser.KubeControllerManager), user(authuser.KubeScheduler))
	authReader.Name = "system::extension-apiserver-authentication-reader"
	return map[string][]rbacv1.RoleBinding{
		system: {
			authReader,
			roleBinding(system, "system::leader-locking-kube-controller-manager",
				user(authuser.KubeControllerManager),
				serviceAccount(system, "kube-controller-manager"),
				serviceAccount(system, "leader-election-controller")),
			roleBinding(system, "system::leader-locking-kube-scheduler",
				user(authuser.KubeScheduler), serviceAccount(system, "kube-scheduler")),
			roleBinding(system, controllerPrefix+"bootstrap-signer", serviceAccount(system, "bootstrap-signer")),
			roleBinding(system, controllerPrefix+"cloud-provider", serviceAccount(system, "cloud-provider")),
			roleBinding(system, controllerPrefix+"token-cleaner", serviceAccount(system, "token-cleaner")),
		},
		metav1.NamespacePublic: {
			roleBinding(metav1.NamespacePublic, controllerPrefix+"bootstrap-signer", serviceAccount(system, "bootstrap-signer")),
		},
	}
}

// role returns a bootstrap role in namespace.
func role(namespace, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	r := rbacv1.Role{ObjectMeta: defaultMeta(name), Rules: rules}
	r.Namespace = namespace
	return r
}

// leaderLockingRole lets a control plane component hold its leader election
// lease in kube-system.
func leaderLockingRole(component string) rbacv1.Role {
	return role(metav1.NamespaceSystem, "system::leader-locking-"+component,
		allow("get", "watch", "list", "create", "update").in(coordination).on("leases"),
		allow("get", "watch", "list", "create", "update").in(coordination).on("leasecandidates"),
	)
}

// roleBinding binds the role of the same name in namespace to subjects.
func roleBinding(namespace, name string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	b := rbacv1.RoleBinding{
		ObjectMeta: defaultMeta(name),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   subjects,
	}
	b.Namespace = namespace
	return b
}
