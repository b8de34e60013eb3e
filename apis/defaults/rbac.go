package defaults

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// RoleBinding defaults a rbac.authorization.k8s.io/v1 role binding: a roleRef
// without an apiGroup gets rbac.authorization.k8s.io, and so do subjects of
// kind User or Group without one (ServiceAccount subjects keep the core
// group "").
func RoleBinding(rb *rbacv1.RoleBinding) {
	setIfEmpty(&rb.RoleRef.APIGroup, rbacv1.GroupName)
	subjects(rb.Subjects)
}

// ClusterRoleBinding defaults a rbac.authorization.k8s.io/v1 cluster role
// binding exactly as RoleBinding does.
func ClusterRoleBinding(crb *rbacv1.ClusterRoleBinding) {
	setIfEmpty(&crb.RoleRef.APIGroup, rbacv1.GroupName)
	subjects(crb.Subjects)
}

// subjects sets apiGroup rbac.authorization.k8s.io on User and Group
// subjects that have none.
func subjects(ss []rbacv1.Subject) {
	for i := range ss {
		if ss[i].Kind == rbacv1.UserKind || ss[i].Kind == rbacv1.GroupKind {
			setIfEmpty(&ss[i].APIGroup, rbacv1.GroupName)
		}
	}
}
