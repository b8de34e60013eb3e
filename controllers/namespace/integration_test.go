package namespace_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestDeleteNamespaceWithContent: deleting a namespace that holds custom
// resources, a config map and a running pod deletes all of them (the pod
// through its node agent's graceful stop), reports what is left in its
// conditions meanwhile, then removes the namespace.
func TestDeleteNamespaceWithContent(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Simulated: app.SimulatedNodesConfig{Count: 1}})
	ctx := t.Context()
	c := s.Client

	crds := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gadgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Singular: "gadget", Kind: "Gadget"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gadgets := dynamic.NewForConfigOrDie(s.Config).Resource(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "gadgets"})
	poll(t, "the gadgets CRD to be served", func() bool {
		_, err := gadgets.Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil
	})

	s.CreateNamespace(t, "doomed")
	for _, name := range []string{"g1", "g2"} {
		g := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.com/v1", "kind": "Gadget",
			"metadata": map[string]any{"name": name},
			"spec":     map[string]any{"size": int64(1)},
		}}
		if name == "g2" {
			// A finalizer that nobody removes but the test: the namespace
			// must wait for it and say so.
			g.SetFinalizers([]string{"example.com/hold"})
		}
		if _, err := gadgets.Namespace("doomed").Create(ctx, g, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}}}
	if _, err := c.CoreV1().Pods("doomed").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the pod to run", func() bool {
		p, err := c.CoreV1().Pods("doomed").Get(ctx, "app", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})

	if err := c.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Everything but the held gadget goes; the namespace waits for it and
	// names the finalizer in its conditions.
	poll(t, "the namespace to report the remaining finalizer", func() bool {
		ns, err := c.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range ns.Status.Conditions {
			if cond.Type == corev1.NamespaceFinalizersRemaining && cond.Status == corev1.ConditionTrue &&
				cond.Message == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances" {
				return true
			}
		}
		return false
	})
	poll(t, "the pod, config map and unheld gadget to go", func() bool {
		_, errPod := c.CoreV1().Pods("doomed").Get(ctx, "app", metav1.GetOptions{})
		_, errCM := c.CoreV1().ConfigMaps("doomed").Get(ctx, "cm", metav1.GetOptions{})
		_, errG1 := gadgets.Namespace("doomed").Get(ctx, "g1", metav1.GetOptions{})
		return apierrors.IsNotFound(errPod) && apierrors.IsNotFound(errCM) && apierrors.IsNotFound(errG1)
	})
	if _, err := c.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace went while a gadget with a finalizer remained: %v", err)
	}

	held, err := gadgets.Namespace("doomed").Get(ctx, "g2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	held.SetFinalizers(nil)
	if _, err := gadgets.Namespace("doomed").Update(ctx, held, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the namespace to go", func() bool {
		_, err := c.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if list, err := gadgets.Namespace("doomed").List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 0 {
		t.Fatalf("gadgets left in the deleted namespace: %v, %v", list, err)
	}
}

func poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		return ok(), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
