package bootstrap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
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

// TestReconcileListsOnce checks that a pass reads each kind with one list,
// not a get per object, and looks each namespace up once it exists.
func TestReconcileListsOnce(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	if err := Reconcile(ctx, client); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	count := map[string]int{}
	for _, a := range client.Actions() {
		count[a.GetVerb()+" "+a.GetResource().Resource]++
	}
	for _, resource := range []string{"clusterroles", "clusterrolebindings", "roles", "rolebindings"} {
		if n := count["get "+resource]; n != 0 {
			t.Errorf("%d gets of %s, want none", n, resource)
		}
		if n := count["list "+resource]; n != 1 {
			t.Errorf("%d lists of %s, want 1", n, resource)
		}
	}
}

// TestKnownNamespacesReadOnce checks that a namespace seen to exist is not
// read again.
func TestKnownNamespacesReadOnce(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}})
	k := &knownNamespaces{NamespaceInterface: client.CoreV1().Namespaces(), seen: map[string]bool{}}
	for range 3 {
		if _, err := k.Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Get(ctx, "kube-public", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("get of a missing namespace = %v, want NotFound", err)
		}
	}
	if n := len(client.Actions()); n != 4 {
		t.Errorf("%d requests, want 4 (one for the existing namespace, three for the missing one)", n)
	}
}

// TestListingAnswersFirstGetOnly checks that a listing answers an object's
// first Get and leaves later ones (retries) to the server.
func TestListingAnswersFirstGetOnly(t *testing.T) {
	l := newListing(rbacv1.Resource("roles"), map[string]string{"ns/a": "listed"})
	live := 0
	server := func(_, _ string) (string, error) { live++; return "live", nil }
	if got, err := l.get("ns", "a", server); got != "listed" || err != nil {
		t.Errorf("first get of a = %q, %v; want the listed object", got, err)
	}
	if _, err := l.get("ns", "b", server); !apierrors.IsNotFound(err) {
		t.Errorf("first get of b = %v; want NotFound", err)
	}
	for _, name := range []string{"a", "b"} {
		if got, _ := l.get("ns", name, server); got != "live" {
			t.Errorf("second get of %s = %q; want the server's answer", name, got)
		}
	}
	if live != 2 {
		t.Errorf("%d reads of the server, want 2", live)
	}
	var failed *listing[string]
	if got, _ := failed.get("ns", "a", server); got != "live" {
		t.Errorf("get without a listing = %q; want the server's answer", got)
	}
}
