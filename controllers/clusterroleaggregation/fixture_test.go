package clusterroleaggregation

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// fixture is a controller over a fake clientset, with the informer cache
// seeded instead of started.
type fixture struct {
	ctrl    *Controller
	client  *fake.Clientset
	factory informers.SharedInformerFactory
}

func newFixture(t *testing.T, roles ...*rbacv1.ClusterRole) *fixture {
	t.Helper()
	objs := make([]runtime.Object, 0, len(roles))
	for _, r := range roles {
		objs = append(objs, r)
	}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	informer := factory.Rbac().V1().ClusterRoles()
	for _, r := range roles {
		if err := informer.Informer().GetIndexer().Add(r); err != nil {
			t.Fatal(err)
		}
	}
	ctrl, err := New(Config{Client: client, Informer: informer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctrl.loop.Queue().ShutDown)
	return &fixture{ctrl: ctrl, client: client, factory: factory}
}

// updates returns the rules of every cluster role update, keyed by role.
func (f *fixture) updates() map[string][]rbacv1.PolicyRule {
	out := map[string][]rbacv1.PolicyRule{}
	for _, a := range f.client.Actions() {
		if u, ok := a.(clienttesting.UpdateAction); ok && a.GetResource().Resource == "clusterroles" {
			r := u.GetObject().(*rbacv1.ClusterRole)
			out[r.Name] = r.Rules
		}
	}
	return out
}

// drain empties the queue and returns what was in it.
func (f *fixture) drain() []string {
	var out []string
	for f.ctrl.loop.Queue().Len() > 0 {
		name, _ := f.ctrl.loop.Queue().Get()
		f.ctrl.loop.Queue().Done(name)
		f.ctrl.loop.Queue().Forget(name)
		out = append(out, name)
	}
	return out
}

// role returns a cluster role with the given rules, labelled key=true for
// each key.
func role(name string, rules []rbacv1.PolicyRule, keys ...string) *rbacv1.ClusterRole {
	r := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}, Rules: rules}
	for _, k := range keys {
		r.Labels[k] = "true"
	}
	return r
}

// aggregated makes r aggregate the roles labelled key=true, one selector
// per key.
func aggregated(r *rbacv1.ClusterRole, keys ...string) *rbacv1.ClusterRole {
	r.AggregationRule = &rbacv1.AggregationRule{}
	for _, k := range keys {
		r.AggregationRule.ClusterRoleSelectors = append(r.AggregationRule.ClusterRoleSelectors,
			metav1.LabelSelector{MatchLabels: map[string]string{k: "true"}})
	}
	return r
}

// rules returns one rule per resource, each allowing get on it in the core
// group.
func rules(resources ...string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, res := range resources {
		out = append(out, rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{res}})
	}
	return out
}
