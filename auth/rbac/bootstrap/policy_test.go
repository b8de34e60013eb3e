package bootstrap

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// policyCmp compares policy objects the way RBAC reads them: the order of
// rules and of subjects does not matter, the order within a rule's fields
// does (upstream sorts them, and so does rule.go). Metadata that only a
// server sets is ignored, so stored objects compare with the policy too.
func policyCmp() cmp.Options {
	return cmp.Options{
		cmpopts.IgnoreTypes(metav1.TypeMeta{}),
		cmpopts.IgnoreFields(metav1.ObjectMeta{}, "UID", "ResourceVersion", "Generation", "CreationTimestamp", "ManagedFields"),
		cmpopts.SortSlices(func(a, b rbacv1.PolicyRule) bool { return jsonKey(a) < jsonKey(b) }),
		cmpopts.SortSlices(func(a, b rbacv1.Subject) bool { return jsonKey(a) < jsonKey(b) }),
	}
}

// TestGolden compares the policy with upstream's golden files in testdata
// (see testdata/README.md): the same objects, each with the same labels,
// annotations, aggregation rule, rules, role reference and subjects.
func TestGolden(t *testing.T) {
	t.Run("ClusterRoles", func(t *testing.T) {
		want := readGolden[rbacv1.ClusterRole](t, "cluster-roles.yaml", "controller-roles.yaml")
		compareGolden(t, ClusterRoles(), want, func(r rbacv1.ClusterRole) string { return r.Name })
	})
	t.Run("ClusterRoleBindings", func(t *testing.T) {
		want := readGolden[rbacv1.ClusterRoleBinding](t, "cluster-role-bindings.yaml", "controller-role-bindings.yaml")
		compareGolden(t, ClusterRoleBindings(), want, func(b rbacv1.ClusterRoleBinding) string { return b.Name })
	})
	t.Run("Roles", func(t *testing.T) {
		want := readGolden[rbacv1.Role](t, "namespace-roles.yaml")
		compareGolden(t, flatten(t, Roles(), func(r rbacv1.Role) string { return r.Namespace }), want,
			func(r rbacv1.Role) string { return r.Namespace + "/" + r.Name })
	})
	t.Run("RoleBindings", func(t *testing.T) {
		want := readGolden[rbacv1.RoleBinding](t, "namespace-role-bindings.yaml")
		compareGolden(t, flatten(t, RoleBindings(), func(b rbacv1.RoleBinding) string { return b.Namespace }), want,
			func(b rbacv1.RoleBinding) string { return b.Namespace + "/" + b.Name })
	})
}

// TestListImpliesWatch checks, as upstream does, that no rule of a user,
// component or namespaced role lets a client list without watching.
// Controller roles are exempt: the storage version migrator lists to learn
// resource versions and never watches.
func TestListImpliesWatch(t *testing.T) {
	var rules []rbacv1.PolicyRule
	for _, r := range slices.Concat(userRoles(), systemRoles()) {
		rules = append(rules, r.Rules...)
	}
	for _, roles := range Roles() {
		for _, r := range roles {
			rules = append(rules, r.Rules...)
		}
	}
	for _, r := range rules {
		if slices.Contains(r.Verbs, "list") && !slices.Contains(r.Verbs, "watch") {
			t.Errorf("rule %s allows list but not watch", jsonKey(r))
		}
	}
}

// TestFreshValues checks that callers own what they get: changing one
// result does not change the next.
func TestFreshValues(t *testing.T) {
	roles := ClusterRoles()
	roles[0].Labels["changed"] = "true"
	roles[0].Rules[0].Verbs[0] = "changed"
	bindings := ClusterRoleBindings()
	bindings[0].Subjects[0].Name = "changed"
	Roles()["kube-system"][0].Annotations["changed"] = "true"

	if diff := cmp.Diff(ClusterRoles(), slices.Concat(userRoles(), systemRoles(), controllerRoles())); diff != "" {
		t.Errorf("ClusterRoles() changed (-got +want):\n%s", diff)
	}
	if got := ClusterRoles()[0]; got.Labels["changed"] != "" || got.Rules[0].Verbs[0] == "changed" {
		t.Errorf("ClusterRoles()[0] = %+v, kept an earlier change", got)
	}
	if got := ClusterRoleBindings()[0].Subjects[0].Name; got == "changed" {
		t.Error("ClusterRoleBindings()[0] kept an earlier change")
	}
	if got := Roles()["kube-system"][0].Annotations["changed"]; got != "" {
		t.Error("Roles() kept an earlier change")
	}
}

// readGolden decodes the items of upstream's golden v1 List files.
func readGolden[T any](t *testing.T, files ...string) []T {
	t.Helper()
	var items []T
	for _, name := range files {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Items []T `json:"items"`
		}
		err = yaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&list)
		f.Close()
		if err != nil {
			t.Fatalf("decode %s: %v", name, err)
		}
		if len(list.Items) == 0 {
			t.Fatalf("%s has no items", name)
		}
		items = append(items, list.Items...)
	}
	return items
}

// compareGolden reports missing, extra, duplicate and differing objects.
func compareGolden[T any](t *testing.T, got, want []T, key func(T) string) {
	t.Helper()
	gotByKey := index(t, "policy", got, key)
	wantByKey := index(t, "golden file", want, key)
	if diff := cmp.Diff(slices.Sorted(maps.Keys(wantByKey)), slices.Sorted(maps.Keys(gotByKey))); diff != "" {
		t.Errorf("object names (-golden +policy):\n%s", diff)
	}
	for k, w := range wantByKey {
		g, ok := gotByKey[k]
		if !ok {
			continue
		}
		if diff := cmp.Diff(w, g, policyCmp()); diff != "" {
			t.Errorf("%s (-golden +policy):\n%s", k, diff)
		}
	}
}

func index[T any](t *testing.T, what string, objs []T, key func(T) string) map[string]T {
	t.Helper()
	out := make(map[string]T, len(objs))
	for _, o := range objs {
		k := key(o)
		if _, dup := out[k]; dup {
			t.Errorf("%s has %s twice", what, k)
		}
		out[k] = o
	}
	return out
}

// flatten lists a per-namespace map and checks that every object sits under
// its own namespace.
func flatten[T any](t *testing.T, byNamespace map[string][]T, namespace func(T) string) []T {
	t.Helper()
	var out []T
	for ns, objs := range byNamespace {
		for _, o := range objs {
			if namespace(o) != ns {
				t.Errorf("object in namespace %q is listed under %q", namespace(o), ns)
			}
			out = append(out, o)
		}
	}
	return out
}

func jsonKey(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
