package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

func TestRBACColumns(t *testing.T) {
	created := col{"Created At", "date", "", 0}
	binding := []col{str("Name"), str("Role"), str("Age"), wideStr("Users"), wideStr("Groups"), wideStr("ServiceAccounts")}
	testColumns(t, []columnCase{
		{"roles", Roles(), []col{str("Name"), created}},
		{"clusterroles", ClusterRoles(), []col{str("Name"), created}},
		{"rolebindings", RoleBindings(), binding},
		{"clusterrolebindings", ClusterRoleBindings(), binding},
	})
}

func TestRBACCells(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "admin", Namespace: "team", CreationTimestamp: ago(25 * time.Hour)}
	subjects := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice"},
		{Kind: rbacv1.GroupKind, Name: "devs"},
		{Kind: rbacv1.ServiceAccountKind, Namespace: "ci", Name: "deployer"},
		{Kind: rbacv1.UserKind, Name: "bob"},
		{Kind: "Robot", Name: "r2"},
		{Kind: rbacv1.ServiceAccountKind, Namespace: "team", Name: "default"},
	}
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{{
		name: "role is default",
		tc:   Roles(),
		obj:  &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}},
		want: []interface{}{"reader", "2026-01-02T03:04:05Z"},
	}, {
		name: "cluster role is default",
		tc:   ClusterRoles(),
		obj:  &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view", CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}},
		want: []interface{}{"view", "2026-01-02T03:04:05Z"},
	}, {
		name: "role binding",
		tc:   RoleBindings(),
		obj:  &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"}, Subjects: subjects},
		want: []interface{}{"admin", "ClusterRole/edit", "25h", "alice, bob", "devs", "ci/deployer, team/default"},
	}, {
		name: "role binding without subjects",
		tc:   RoleBindings(),
		obj:  &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "reader"}},
		want: []interface{}{"admin", "Role/reader", "25h", "", "", ""},
	}, {
		name: "cluster role binding",
		tc:   ClusterRoleBindings(),
		obj:  &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: subjects[1:3]},
		want: []interface{}{"admin", "ClusterRole/cluster-admin", "25h", "", "devs", "ci/deployer"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, tt.tc, tt.obj)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
