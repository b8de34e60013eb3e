package rbac

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRuleAllows(t *testing.T) {
	res := func(verb, group, resource, sub, name string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Name: name, ResourceRequest: true}
	}
	url := func(verb, path string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{Verb: verb, Path: path}
	}
	tests := []struct {
		name  string
		rule  rbacv1.PolicyRule
		attrs authorizer.AttributesRecord
		want  bool
	}{
		{"exact", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, res("get", "", "pods", "", "p"), true},
		{"other verb", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, res("list", "", "pods", "", ""), false},
		{"other group", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"apps"}, Resources: []string{"pods"}}, res("get", "", "pods", "", ""), false},
		{"all verbs, groups and resources", rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, res("delete", "apps", "deployments", "scale", "d"), true},
		{"resource does not match its subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, res("get", "", "pods", "log", "p"), false},
		{"subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}}, res("get", "", "pods", "log", "p"), true},
		{"any resource's subresource", rbacv1.PolicyRule{Verbs: []string{"update"}, APIGroups: []string{"*"}, Resources: []string{"*/scale"}}, res("update", "apps", "deployments", "scale", "d"), true},
		{"*/scale is not the resource", rbacv1.PolicyRule{Verbs: []string{"update"}, APIGroups: []string{"*"}, Resources: []string{"*/scale"}}, res("update", "apps", "deployments", "", "d"), false},
		{"named", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, res("get", "", "configmaps", "", "a"), true},
		{"other name", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, res("get", "", "configmaps", "", "b"), false},
		{"named rule, list without name", rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, res("list", "", "configmaps", "", ""), false},
		{"url", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}, url("get", "/healthz"), true},
		{"url prefix", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/api/*"}}, url("get", "/api/v1"), true},
		{"url prefix without its slash", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/api/*"}}, url("get", "/api"), false},
		{"all urls", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"*"}}, url("get", "/metrics"), true},
		{"url rule does not match resources", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"*"}}, res("get", "", "pods", "", ""), false},
		{"resource rule does not match urls", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, url("get", "/healthz"), false},
	}
	for _, tt := range tests {
		if got := RuleAllows(tt.attrs, &tt.rule); got != tt.want {
			t.Errorf("%s: RuleAllows = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAuthorizer(t *testing.T) {
	ref := func(kind, name string) rbacv1.RoleRef {
		return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}
	}
	objs := []runtime.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "reader"}, Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "writer"}, Rules: []rbacv1.PolicyRule{{Verbs: []string{"create"}, APIGroups: []string{""}, Resources: []string{"pods"}}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "readers"}, RoleRef: ref("ClusterRole", "reader"),
			Subjects: []rbacv1.Subject{{Kind: "Group", Name: "readers"}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "broken"}, RoleRef: ref("ClusterRole", "missing"),
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "carol"}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "writers"}, RoleRef: ref("Role", "writer"),
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "ServiceAccount", Name: "sa"}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "readers"}, RoleRef: ref("ClusterRole", "reader"),
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "other", Name: "sa"}}},
	}
	f := informers.NewSharedInformerFactory(fake.NewClientset(objs...), 0)
	r := NewResolver(f.Rbac().V1())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	a := New(r)

	alice := &user.DefaultInfo{Name: "alice"}
	bob := &user.DefaultInfo{Name: "bob", Groups: []string{"readers"}}
	sa := &user.DefaultInfo{Name: "system:serviceaccount:ns:sa"}
	otherSA := &user.DefaultInfo{Name: "system:serviceaccount:other:sa"}
	carol := &user.DefaultInfo{Name: "carol"}
	pods := func(u user.Info, verb, ns string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: u, Verb: verb, Namespace: ns, Resource: "pods", ResourceRequest: true}
	}
	tests := []struct {
		name       string
		attrs      authorizer.AttributesRecord
		want       authorizer.Decision
		wantReason string
	}{
		{"role binding", pods(alice, "create", "ns"), authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "writers/ns" of Role "writer" to User "alice"`},
		{"role binding elsewhere", pods(alice, "create", "other"), authorizer.DecisionNoOpinion, ""},
		{"role binding, cluster-wide", pods(alice, "create", ""), authorizer.DecisionNoOpinion, ""},
		{"group", pods(bob, "get", "any"), authorizer.DecisionAllow, `RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "reader" to Group "readers"`},
		{"verb not granted", pods(bob, "delete", "any"), authorizer.DecisionNoOpinion, ""},
		{"service account in the binding's namespace", pods(sa, "create", "ns"), authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "writers/ns" of Role "writer" to ServiceAccount "sa/ns"`},
		{"service account of another namespace", pods(otherSA, "get", "ns"), authorizer.DecisionAllow, `RBAC: allowed by RoleBinding "readers/ns" of ClusterRole "reader" to ServiceAccount "sa/other"`},
		{"service account named like one in the binding", pods(otherSA, "create", "ns"), authorizer.DecisionNoOpinion, ""},
		{"binding of a missing role", pods(carol, "get", "ns"), authorizer.DecisionNoOpinion, `RBAC: clusterrole.rbac.authorization.k8s.io "missing" not found`},
	}
	for _, tt := range tests {
		d, reason, err := a.Authorize(ctx, tt.attrs)
		if d != tt.want || reason != tt.wantReason || err != nil {
			t.Errorf("%s: Authorize = %v, %q, %v; want %v, %q", tt.name, d, reason, err, tt.want, tt.wantReason)
		}
	}

	res, nonRes, incomplete, err := a.RulesFor(ctx, sa, "ns")
	if len(res) != 1 || len(nonRes) != 0 || incomplete || err != nil || res[0].GetVerbs()[0] != "create" {
		t.Errorf("RulesFor(sa, ns) = %v, %v, %v, %v; want the writer role's rule", res, nonRes, incomplete, err)
	}
}

func TestCompactString(t *testing.T) {
	got := compactString(rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{"a"}})
	if want := `{APIGroups:[""], Resources:["pods"], ResourceNames:["a"], Verbs:["get" "list"]}`; got != want {
		t.Errorf("compactString = %s, want %s", got, want)
	}
}
