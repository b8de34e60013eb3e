package bootstrap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

// TestReconcileEmpty installs the policy on an empty server, then checks
// that a second pass writes nothing.
func TestReconcileEmpty(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	if err := Reconcile(ctx, client); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}

	roles, err := client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, roles.Items, ClusterRoles(), func(r rbacv1.ClusterRole) string { return r.Name })
	bindings, err := client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, bindings.Items, ClusterRoleBindings(), func(b rbacv1.ClusterRoleBinding) string { return b.Name })
	for ns, want := range Roles() {
		got, err := client.RbacV1().Roles(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		compareGolden(t, got.Items, want, func(r rbacv1.Role) string { return r.Namespace + "/" + r.Name })
	}
	for ns, want := range RoleBindings() {
		got, err := client.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		compareGolden(t, got.Items, want, func(b rbacv1.RoleBinding) string { return b.Namespace + "/" + b.Name })
	}
	for _, ns := range []string{metav1.NamespaceSystem, metav1.NamespacePublic} {
		if _, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v, want it created", ns, err)
		}
	}

	client.ClearActions()
	if err := Reconcile(ctx, client); err != nil {
		t.Fatalf("second Reconcile() = %v", err)
	}
	if w := writes(client); len(w) != 0 {
		t.Errorf("second Reconcile() wrote %v, want nothing", w)
	}
}

// TestReconcileExisting checks how existing objects are treated: with
// autoupdate=true they gain what they lack and keep what they have, with
// autoupdate=false they stay as they are.
func TestReconcileExisting(t *testing.T) {
	custom := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}
	alice := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}

	// system:basic-user lost one rule and gained a custom one and a label.
	basicUser := findRole(t, "system:basic-user")
	basicUser.Rules = []rbacv1.PolicyRule{basicUser.Rules[0], custom}
	basicUser.Labels["team"] = "a"
	// system:discovery opted out of updates and has no rules.
	discovery := findRole(t, "system:discovery")
	discovery.Annotations[rbacv1.AutoUpdateAnnotationKey] = "false"
	discovery.Rules = nil
	// admin was filled in by the aggregation controller.
	admin := findRole(t, "admin")
	admin.Rules = []rbacv1.PolicyRule{custom}
	// system:basic-user's binding lost its group and gained alice.
	basicUserBinding := findBinding(t, "system:basic-user")
	basicUserBinding.Subjects = []rbacv1.Subject{alice}
	// cluster-admin's binding opted out and binds only alice.
	clusterAdmin := findBinding(t, "cluster-admin")
	clusterAdmin.Annotations[rbacv1.AutoUpdateAnnotationKey] = "false"
	clusterAdmin.Subjects = []rbacv1.Subject{alice}
	// system:kube-dns's binding points at the wrong role.
	kubeDNS := findBinding(t, "system:kube-dns")
	kubeDNS.RoleRef.Name = "view"

	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset(&basicUser, &discovery, &admin, &basicUserBinding, &clusterAdmin, &kubeDNS)
	if err := Reconcile(ctx, client); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}

	gotRole := func(name string) *rbacv1.ClusterRole {
		r, err := client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	gotBinding := func(name string) *rbacv1.ClusterRoleBinding {
		b, err := client.RbacV1().ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	want := findRole(t, "system:basic-user")
	if diff := cmp.Diff(append(want.Rules, custom), gotRole("system:basic-user").Rules, policyCmp()); diff != "" {
		t.Errorf("system:basic-user rules (-want +got):\n%s", diff)
	}
	if got := gotRole("system:basic-user").Labels; got["team"] != "a" || got[BootstrappingLabel] != bootstrappingValue {
		t.Errorf("system:basic-user labels = %v, want the custom and the default label", got)
	}
	if got := gotRole("system:discovery").Rules; len(got) != 0 {
		t.Errorf("protected system:discovery rules = %v, want none", got)
	}
	if diff := cmp.Diff([]rbacv1.PolicyRule{custom}, gotRole("admin").Rules); diff != "" {
		t.Errorf("admin rules (-want +got):\n%s", diff)
	}

	wantSubjects := append(findBinding(t, "system:basic-user").Subjects, alice)
	if diff := cmp.Diff(wantSubjects, gotBinding("system:basic-user").Subjects, policyCmp()); diff != "" {
		t.Errorf("system:basic-user binding subjects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]rbacv1.Subject{alice}, gotBinding("cluster-admin").Subjects); diff != "" {
		t.Errorf("protected cluster-admin binding subjects (-want +got):\n%s", diff)
	}
	if got := gotBinding("system:kube-dns").RoleRef.Name; got != "system:kube-dns" {
		t.Errorf("system:kube-dns binding role = %q, want it recreated for system:kube-dns", got)
	}
}

// TestReconcileFailures checks that one failing object does not stop the
// others, and that an ended context stops the pass.
func TestReconcileFailures(t *testing.T) {
	t.Run("one object fails", func(t *testing.T) {
		_, ctx := ktesting.NewTestContext(t)
		client := fake.NewClientset()
		client.PrependReactor("create", "clusterroles", func(a clienttesting.Action) (bool, runtime.Object, error) {
			if a.(clienttesting.CreateAction).GetObject().(*rbacv1.ClusterRole).Name == "view" {
				return true, nil, apierrors.NewInternalError(errors.New("boom"))
			}
			return false, nil, nil
		})
		err := Reconcile(ctx, client)
		if err == nil || !strings.Contains(err.Error(), "clusterrole view") {
			t.Fatalf("Reconcile() = %v, want an error naming clusterrole view", err)
		}
		list, lerr := client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
		if lerr != nil {
			t.Fatal(lerr)
		}
		if got, want := len(list.Items), len(ClusterRoles())-1; got != want {
			t.Errorf("created %d cluster roles, want %d", got, want)
		}
	})
	t.Run("context ended", func(t *testing.T) {
		_, ctx := ktesting.NewTestContext(t)
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		client := fake.NewClientset()
		if err := Reconcile(ctx, client); !errors.Is(err, context.Canceled) {
			t.Errorf("Reconcile() = %v, want context.Canceled", err)
		}
		if a := client.Actions(); len(a) != 0 {
			t.Errorf("Reconcile() sent %d requests after its context ended, want 0", len(a))
		}
	})
}

func findRole(t *testing.T, name string) rbacv1.ClusterRole {
	t.Helper()
	for _, r := range ClusterRoles() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no cluster role %s", name)
	return rbacv1.ClusterRole{}
}

func findBinding(t *testing.T, name string) rbacv1.ClusterRoleBinding {
	t.Helper()
	for _, b := range ClusterRoleBindings() {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no cluster role binding %s", name)
	return rbacv1.ClusterRoleBinding{}
}

// writes lists the mutating requests the client received, as
// "verb resource/name".
func writes(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		switch a := a.(type) {
		case clienttesting.CreateAction:
			out = append(out, "create "+a.GetResource().Resource+"/"+name(a.GetObject()))
		case clienttesting.UpdateAction:
			out = append(out, "update "+a.GetResource().Resource+"/"+name(a.GetObject()))
		case clienttesting.DeleteAction:
			out = append(out, "delete "+a.GetResource().Resource+"/"+a.GetName())
		}
	}
	return out
}

func name(obj runtime.Object) string {
	if o, ok := obj.(metav1.Object); ok {
		return o.GetName()
	}
	return "?"
}
