package table

import (
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Roles returns the table convertor for roles. Upstream has no printer for
// them, so this is Default: Name, Created At.
func Roles() rest.TableConvertor {
	return Default()
}

// ClusterRoles returns the table convertor for cluster roles. Upstream has
// no printer for them, so this is Default: Name, Created At.
func ClusterRoles() rest.TableConvertor {
	return Default()
}

// RoleBindings returns the table convertor for role bindings: Name, Role,
// Age, and wide Users, Groups, ServiceAccounts.
//
// Role reads "Kind/name". The subject columns list the users, the groups and
// the service accounts (as "namespace/name") comma and space separated;
// subjects of other kinds are not shown.
func RoleBindings() rest.TableConvertor {
	return newConvertor(bindingColumns(rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"], "roleBinding"),
		cells(func(rb *rbacv1.RoleBinding, now time.Time) []interface{} {
			return bindingCells(rb, rb.RoleRef, rb.Subjects, now)
		}))
}

// ClusterRoleBindings returns the table convertor for cluster role bindings,
// with the columns and cells of RoleBindings.
func ClusterRoleBindings() rest.TableConvertor {
	return newConvertor(bindingColumns(rbacv1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"], "clusterRoleBinding"),
		cells(func(crb *rbacv1.ClusterRoleBinding, now time.Time) []interface{} {
			return bindingCells(crb, crb.RoleRef, crb.Subjects, now)
		}))
}

// bindingColumns are the columns of a role binding table; kind names the
// binding in the subject columns' descriptions.
func bindingColumns(roleDoc, kind string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		column("Role", roleDoc),
		ageColumn(),
		wide(column("Users", "Users in the "+kind)),
		wide(column("Groups", "Groups in the "+kind)),
		wide(column("ServiceAccounts", "ServiceAccounts in the "+kind)),
	}
}

func bindingCells(obj metav1.Object, role rbacv1.RoleRef, subjects []rbacv1.Subject, now time.Time) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		}
	}
	return []interface{}{
		obj.GetName(),
		role.Kind + "/" + role.Name,
		age(obj.GetCreationTimestamp(), now),
		strings.Join(users, ", "),
		strings.Join(groups, ", "),
		strings.Join(sas, ", "),
	}
}
