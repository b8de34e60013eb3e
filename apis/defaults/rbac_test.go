package defaults

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

func TestRoleBindings(t *testing.T) {
	subjectsIn := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice"},
		{Kind: rbacv1.GroupKind, Name: "devs"},
		{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: "ns"},
		{Kind: rbacv1.UserKind, Name: "bob", APIGroup: "example.com"},
		{Kind: "Robot", Name: "r2"},
	}
	subjectsWant := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice", APIGroup: rbacv1.GroupName},
		{Kind: rbacv1.GroupKind, Name: "devs", APIGroup: rbacv1.GroupName},
		{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: "ns"},
		{Kind: rbacv1.UserKind, Name: "bob", APIGroup: "example.com"},
		{Kind: "Robot", Name: "r2"},
	}
	runCases(t, RoleBinding, []defaultCase[rbacv1.RoleBinding]{{
		name: "roleRef and user and group subjects get the rbac group",
		in:   rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"}, Subjects: subjectsIn},
		want: rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r", APIGroup: rbacv1.GroupName}, Subjects: subjectsWant},
	}, {
		name: "roleRef group kept",
		in:   rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{APIGroup: "example.com", Kind: "Role", Name: "r"}},
		want: rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{APIGroup: "example.com", Kind: "Role", Name: "r"}},
	}})
	runCases(t, ClusterRoleBinding, []defaultCase[rbacv1.ClusterRoleBinding]{{
		name: "roleRef and user and group subjects get the rbac group",
		in:   rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "r"}, Subjects: subjectsIn},
		want: rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "r", APIGroup: rbacv1.GroupName}, Subjects: subjectsWant},
	}})
}
