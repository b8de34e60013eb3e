package app_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

func widgetCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "widgets", Singular: "widget", Kind: "Widget", ShortNames: []string{"wd"}, Categories: []string{"all"},
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"replicas": {Type: "integer", Default: &apiextensionsv1.JSON{Raw: []byte("3")}, Minimum: ptr.To[float64](0)},
							"color":    {Type: "string"},
						}},
						"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"replicas": {Type: "integer"},
						}},
					},
				}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
					Scale: &apiextensionsv1.CustomResourceSubresourceScale{
						SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas",
					},
				},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Replicas", Type: "integer", JSONPath: ".spec.replicas"}},
			}},
		},
	}
}

// TestCustomResources drives a CRD through its life: established, discovered,
// documented in OpenAPI, its objects defaulted, pruned, validated, with status and
// scale subresources and printer columns; deleting it removes its group.
func TestCustomResources(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	crds := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()
	if _, err := crds.Create(ctx, widgetCRD(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		groups, err := s.Client.Discovery().ServerGroups()
		if err != nil {
			return false, nil
		}
		return slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == "example.com" }), nil
	})
	if err != nil {
		t.Fatalf("example.com never appeared in /apis: %v", err)
	}
	resources, err := s.Client.Discovery().ServerResourcesForGroupVersion("example.com/v1")
	if err != nil || len(resources.APIResources) == 0 || !slices.Equal(resources.APIResources[0].ShortNames, []string{"wd"}) {
		t.Fatalf("discovery of example.com/v1: %+v %v", resources, err)
	}
	if _, err := s.Client.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/example.com/v1").DoRaw(ctx); err != nil {
		// The OpenAPI documents are merged asynchronously.
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := s.Client.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/example.com/v1").DoRaw(ctx)
			return err == nil, nil
		}); err != nil {
			t.Fatalf("no OpenAPI v3 document for example.com/v1: %v", err)
		}
	}

	widgets := dynamic.NewForConfigOrDie(s.Config).Resource(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}).Namespace("default")
	w := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w1"},
		"spec":     map[string]any{"color": "red", "unknown": "pruned"},
	}}
	got, err := widgets.Create(ctx, w, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := got.Object["spec"].(map[string]any)
	if spec["replicas"] != int64(3) {
		t.Errorf("default not applied: %v", spec)
	}
	if _, ok := spec["unknown"]; ok {
		t.Errorf("unknown field not pruned: %v", spec)
	}
	bad := w.DeepCopy()
	bad.SetName("w2")
	bad.Object["spec"] = map[string]any{"replicas": int64(-1)}
	if _, err := widgets.Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("schema violation: want 422, got %v", err)
	}

	got.Object["status"] = map[string]any{"replicas": int64(2)}
	if _, err := widgets.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status update: %v", err)
	}
	scale, err := widgets.Get(ctx, "w1", metav1.GetOptions{}, "scale")
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	if r, _, _ := unstructured.NestedInt64(scale.Object, "status", "replicas"); r != 2 {
		t.Errorf("scale status replicas = %d, want 2", r)
	}

	table := &metav1.Table{}
	err = s.Client.Discovery().RESTClient().Get().AbsPath("/apis/example.com/v1/namespaces/default/widgets").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(table)
	if err != nil || len(table.ColumnDefinitions) < 2 || table.ColumnDefinitions[1].Name != "Replicas" {
		t.Fatalf("printer columns: %+v %v", table.ColumnDefinitions, err)
	}

	if err := crds.Delete(ctx, "widgets.example.com", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		groups, err := s.Client.Discovery().ServerGroups()
		return err == nil && !slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == "example.com" }), nil
	})
	if err != nil {
		t.Fatalf("example.com still in /apis after its CRD was deleted: %v", err)
	}
}

// TestCustomResourceListBeforeCacheReady lists a new CRD's instances with the
// request that makes their storage, whose watch cache is not ready then, and
// with no client retry: the list is served (from etcd), not refused with 429.
// Then the CRD, cluster-scoped and never listed again, is deleted at once
// with no failure condition on the way (the CRD finalizer's own first list
// used to be refused, which could leave the CRD for minutes).
func TestCustomResourceListBeforeCacheReady(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	crds := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()
	transport, err := rest.TransportFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: transport}
	for _, name := range []string{"gears", "cogs"} {
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: name + ".example.com"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "example.com", Scope: apiextensionsv1.ClusterScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: name, Kind: strings.ToUpper(name[:1]) + name[1:len(name)-1]},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object"}}}},
			},
		}
		if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range got.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		}); err != nil {
			t.Fatalf("%s not Established", crd.Name)
		}
	}

	resp, err := client.Get(s.Config.Host + "/apis/example.com/v1/gears")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("first list of gears: %s: %s", resp.Status, body)
	}

	start := time.Now()
	if err := crds.Delete(ctx, "cogs.example.com", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var failed []string
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := crds.Get(ctx, "cogs.example.com", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err == nil {
			for _, c := range got.Status.Conditions {
				if c.Type == apiextensionsv1.Terminating && c.Reason == "InstanceDeletionFailed" && !slices.Contains(failed, c.Message) {
					failed = append(failed, c.Message)
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("cogs.example.com still there %v after its delete", time.Since(start))
	}
	if len(failed) > 0 {
		t.Errorf("deleting cogs.example.com failed on the way: %q", failed)
	}
}
