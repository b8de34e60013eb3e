package garbagecollector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestGarbageCollection runs the collector in a real server.
func TestGarbageCollection(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client

	t.Run("background", func(t *testing.T) {
		ns := "gc-background"
		s.CreateNamespace(t, ns)
		owner := configMap(t, c, ns, "owner")
		deps := []string{
			configMap(t, c, ns, "dep-a", ownerRef(owner, false)).Name,
			configMap(t, c, ns, "dep-b", ownerRef(owner, true)).Name,
		}
		if err := c.CoreV1().ConfigMaps(ns).Delete(t.Context(), owner.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			waitGone(t, c, ns, d)
		}
	})

	t.Run("dangling and invalid references", func(t *testing.T) {
		ns := "gc-dangling"
		s.CreateNamespace(t, ns)
		owner := configMap(t, c, ns, "owner")
		// Right uid, wrong kind: no Pod "owner" exists, so the reference dangles.
		wrongKind := metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: owner.Name, UID: owner.UID}
		missing := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "nowhere", UID: "missing-uid"}
		unknown := metav1.OwnerReference{APIVersion: "unknown.example.com/v1", Kind: "Thing", Name: "x", UID: "unknown-uid"}
		configMap(t, c, ns, "wrong-kind", wrongKind)
		configMap(t, c, ns, "missing", missing)
		configMap(t, c, ns, "unknown", unknown)
		mixed := configMap(t, c, ns, "mixed", ownerRef(owner, false), missing)
		waitGone(t, c, ns, "wrong-kind")
		waitGone(t, c, ns, "missing")
		waitFor(t, "dangling reference removed from an object with a live owner", func(ctx context.Context) (bool, error) {
			cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, mixed.Name, metav1.GetOptions{})
			return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == owner.UID, nil
		})
		if _, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), "unknown", metav1.GetOptions{}); err != nil {
			t.Errorf("object whose owner kind is unknown: %v", err)
		}

		// A cluster-scoped object cannot have a namespaced owner: it stays, with a warning.
		role, err := c.RbacV1().ClusterRoles().Create(t.Context(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{
			Name: "gc-invalid-owner", OwnerReferences: []metav1.OwnerReference{ownerRef(owner, false)},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "OwnerRefInvalidNamespace event", func(ctx context.Context) (bool, error) {
			evs, err := c.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(role.UID)})
			if err != nil {
				return false, err
			}
			for _, e := range evs.Items {
				if e.Reason == "OwnerRefInvalidNamespace" {
					return true, nil
				}
			}
			return false, nil
		})
		if _, err := c.RbacV1().ClusterRoles().Get(t.Context(), role.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("cluster-scoped object with a namespaced owner: %v", err)
		}
	})

	t.Run("foreground", func(t *testing.T) {
		ns := "gc-foreground"
		s.CreateNamespace(t, ns)
		owner := configMap(t, c, ns, "owner")
		blocker := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "blocker", Finalizers: []string{"example.com/hold"},
			OwnerReferences: []metav1.OwnerReference{ownerRef(owner, true)}}}
		if _, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), blocker, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		plain := configMap(t, c, ns, "plain", ownerRef(owner, true))
		err := c.CoreV1().ConfigMaps(ns).Delete(t.Context(), owner.Name,
			metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
		if err != nil {
			t.Fatal(err)
		}
		waitGone(t, c, ns, plain.Name)
		waitFor(t, "blocking dependent being deleted", func(ctx context.Context) (bool, error) {
			cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "blocker", metav1.GetOptions{})
			return err == nil && cm.DeletionTimestamp != nil, nil
		})
		time.Sleep(time.Second)
		got, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), owner.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("owner gone while a blocking dependent remains: %v", err)
		}
		if got.DeletionTimestamp == nil || len(got.Finalizers) != 1 || got.Finalizers[0] != metav1.FinalizerDeleteDependents {
			t.Fatalf("owner in foreground deletion: deletionTimestamp %v, finalizers %v", got.DeletionTimestamp, got.Finalizers)
		}
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := c.CoreV1().ConfigMaps(ns).Patch(t.Context(), "blocker", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, c, ns, "blocker")
		waitGone(t, c, ns, owner.Name)
	})

	t.Run("foreground through a dependency cycle", func(t *testing.T) {
		ns := "gc-cycle"
		s.CreateNamespace(t, ns)
		a, b, cm := configMap(t, c, ns, "a"), configMap(t, c, ns, "b"), configMap(t, c, ns, "c")
		// a is owned by c, b by a, c by b; every reference blocks.
		for _, pair := range [][2]*corev1.ConfigMap{{a, cm}, {b, a}, {cm, b}} {
			refs, err := json.Marshal([]metav1.OwnerReference{ownerRef(pair[1], true)})
			if err != nil {
				t.Fatal(err)
			}
			patch := fmt.Appendf(nil, `{"metadata":{"ownerReferences":%s}}`, refs)
			if _, err := c.CoreV1().ConfigMaps(ns).Patch(t.Context(), pair[0].Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		err := c.CoreV1().ConfigMaps(ns).Delete(t.Context(), a.Name,
			metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"a", "b", "c"} {
			waitGone(t, c, ns, name)
		}
	})

	t.Run("orphan", func(t *testing.T) {
		ns := "gc-orphan"
		s.CreateNamespace(t, ns)
		// A finalizer of its own keeps the owner visible while it is orphaning.
		owner, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "owner", Finalizers: []string{"example.com/hold"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		other := configMap(t, c, ns, "other")
		only := configMap(t, c, ns, "only", ownerRef(owner, true))
		both := configMap(t, c, ns, "both", ownerRef(owner, true), ownerRef(other, false))
		err = c.CoreV1().ConfigMaps(ns).Delete(t.Context(), owner.Name,
			metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "orphan finalizer removed", func(ctx context.Context) (bool, error) {
			got, err := c.CoreV1().ConfigMaps(ns).Get(ctx, owner.Name, metav1.GetOptions{})
			return err == nil && got.DeletionTimestamp != nil && slices.Equal(got.Finalizers, []string{"example.com/hold"}), nil
		})
		for _, want := range []struct {
			name string
			refs []types.UID
		}{{only.Name, nil}, {both.Name, []types.UID{other.UID}}} {
			got, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), want.name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("orphaned dependent %s: %v", want.name, err)
			}
			var refs []types.UID
			for _, r := range got.OwnerReferences {
				refs = append(refs, r.UID)
			}
			if !slices.Equal(refs, want.refs) {
				t.Errorf("orphaned dependent %s has owners %v, want %v", want.name, refs, want.refs)
			}
		}
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := c.CoreV1().ConfigMaps(ns).Patch(t.Context(), owner.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, c, ns, owner.Name)
		time.Sleep(time.Second)
		for _, name := range []string{only.Name, both.Name} {
			if _, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{}); err != nil {
				t.Errorf("orphaned dependent %s after the owner went: %v", name, err)
			}
		}
	})

	// In kubelite server the collector watches services (as pods, ...)
	// through the typed informers the other controllers share.
	t.Run("shared informers", func(t *testing.T) {
		ns := "gc-shared"
		s.CreateNamespace(t, ns)
		service := func(name string, owners ...metav1.OwnerReference) *corev1.Service {
			t.Helper()
			svc, err := c.CoreV1().Services(ns).Create(t.Context(), &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
				Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Port: 80}}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return svc
		}
		serviceGone := func(name string) {
			t.Helper()
			waitFor(t, "service "+name+" deleted", func(ctx context.Context) (bool, error) {
				_, err := c.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
		}
		// A service owned by a config map goes with it.
		owner := configMap(t, c, ns, "owner")
		service("dep", ownerRef(owner, false))
		if err := c.CoreV1().ConfigMaps(ns).Delete(t.Context(), owner.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		serviceGone("dep")
		// A service deleted in the foreground takes its dependents first.
		svc := service("owner")
		ref := metav1.OwnerReference{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID, BlockOwnerDeletion: ptr.To(true)}
		cm := configMap(t, c, ns, "cm", ref)
		err := c.CoreV1().Services(ns).Delete(t.Context(), svc.Name,
			metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
		if err != nil {
			t.Fatal(err)
		}
		waitGone(t, c, ns, cm.Name)
		serviceGone(svc.Name)
	})

	t.Run("custom resources", func(t *testing.T) {
		ns := "gc-custom"
		s.CreateNamespace(t, ns)
		widgets := createCRD(t, s)
		dyn := dynamic.NewForConfigOrDie(s.Config).Resource(widgets).Namespace(ns)
		owner := widget(t, dyn, "owner")
		dep := widget(t, dyn, "dep", ownerRef(owner, false))
		cm := configMap(t, c, ns, "cm", ownerRef(owner, false))
		if err := dyn.Delete(t.Context(), owner.GetName(), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, c, ns, cm.Name)
		waitFor(t, "custom dependent deleted", func(ctx context.Context) (bool, error) {
			_, err := dyn.Get(ctx, dep.GetName(), metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})
}

func ownerRef(owner metav1.Object, block bool) metav1.OwnerReference {
	apiVersion, kind := "v1", "ConfigMap"
	if u, ok := owner.(*unstructured.Unstructured); ok {
		apiVersion, kind = u.GetAPIVersion(), u.GetKind()
	}
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		BlockOwnerDeletion: ptr.To(block)}
}

func configMap(t *testing.T, c kubernetes.Interface, ns, name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func widget(t *testing.T, dyn dynamic.ResourceInterface, name string, owners ...metav1.OwnerReference) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("gc.example.com/v1")
	u.SetKind("Widget")
	u.SetName(name)
	u.SetOwnerReferences(owners)
	var out *unstructured.Unstructured
	// The new resource may take a moment to be served.
	waitFor(t, "widget "+name+" created", func(ctx context.Context) (bool, error) {
		var err error
		out, err = dyn.Create(ctx, u, metav1.CreateOptions{})
		return err == nil, nil
	})
	return out
}

func createCRD(t *testing.T, s *testserver.Server) schema.GroupVersionResource {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.gc.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "gc.example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object"}},
			}},
		},
	}
	client := apiextensionsclient.NewForConfigOrDie(s.Config)
	if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(t.Context(), crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return schema.GroupVersionResource{Group: "gc.example.com", Version: "v1", Resource: "widgets"}
}

func waitGone(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	waitFor(t, "config map "+ns+"/"+name+" deleted", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func waitFor(t *testing.T, what string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 45*time.Second, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
