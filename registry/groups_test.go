package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// groupCase exercises one served API group through one of its resources.
type groupCase struct {
	// name of the subtest: the group, or group/version.
	name string
	gvr  schema.GroupVersionResource
	// fixture is the object to create: testdata/<fixture>.yaml, or obj when
	// fixture is empty.
	fixture string
	obj     map[string]any
	// invalid breaks a copy of the object; the create must fail as Invalid
	// with a cause at field.
	invalid func(u *unstructured.Unstructured)
	field   string
	// noStrategic marks custom resources, which refuse strategic merge
	// patches (415) as upstream does.
	noStrategic bool
	// createOnly marks the review resources: created, answered, never stored.
	createOnly bool
}

// set sets a nested field of u, failing the test on a bad path.
func set(t *testing.T, u *unstructured.Unstructured, value any, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
		t.Fatalf("set %v: %v", path, err)
	}
}

// TestEveryGroup drives every served API group, custom resources included,
// through one resource each: a create rejected by validation with the field
// path of the problem, then create, get, list, watch, update, a JSON patch, a
// merge patch, a strategic merge patch (refused for custom resources), a
// server-side apply and delete. Review groups are create-only.
func TestEveryGroup(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(s.Config)
	s.CreateNamespace(t, "fixtures")
	crds := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()
	if _, err := crds.Create(ctx, gadgetCRD("gadgets", "groups.example.com"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := s.Client.Discovery().ServerResourcesForGroupVersion("groups.example.com/v1")
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("custom resource group not served: %v", err)
	}

	gvr := func(group, version, resource string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
	}
	cases := []groupCase{
		{name: "core", gvr: gvr("", "v1", "pods"), fixture: "pods",
			invalid: func(u *unstructured.Unstructured) {
				unstructured.RemoveNestedField(u.Object, "spec", "containers")
				set(t, u, []any{map[string]any{"name": "app"}}, "spec", "containers")
			}, field: "spec.containers[0].image"},
		{name: "apiregistration.k8s.io", gvr: gvr("apiregistration.k8s.io", "v1", "apiservices"), fixture: "apiservices",
			invalid: func(u *unstructured.Unstructured) { set(t, u, int64(0), "spec", "versionPriority") }, field: "spec.versionPriority"},
		{name: "apps", gvr: gvr("apps", "v1", "deployments"), fixture: "deployments",
			invalid: func(u *unstructured.Unstructured) { set(t, u, int64(-1), "spec", "replicas") }, field: "spec.replicas"},
		{name: "batch", gvr: gvr("batch", "v1", "cronjobs"), fixture: "cronjobs",
			invalid: func(u *unstructured.Unstructured) { set(t, u, "every day", "spec", "schedule") }, field: "spec.schedule"},
		{name: "autoscaling/v2", gvr: gvr("autoscaling", "v2", "horizontalpodautoscalers"), fixture: "horizontalpodautoscalers",
			invalid: func(u *unstructured.Unstructured) { set(t, u, int64(0), "spec", "maxReplicas") }, field: "spec.maxReplicas"},
		{name: "autoscaling/v1", gvr: gvr("autoscaling", "v1", "horizontalpodautoscalers"), obj: map[string]any{
			"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
			"metadata": map[string]any{"name": "fixture-hpa-v1", "namespace": "fixtures"},
			"spec": map[string]any{
				"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "fixture-deploy"},
				"maxReplicas":    int64(3), "targetCPUUtilizationPercentage": int64(60),
			},
		}, invalid: func(u *unstructured.Unstructured) { set(t, u, int64(0), "spec", "maxReplicas") }, field: "spec.maxReplicas"},
		{name: "coordination.k8s.io", gvr: gvr("coordination.k8s.io", "v1", "leases"), fixture: "leases",
			invalid: func(u *unstructured.Unstructured) { set(t, u, int64(0), "spec", "leaseDurationSeconds") }, field: "spec.leaseDurationSeconds"},
		{name: "discovery.k8s.io", gvr: gvr("discovery.k8s.io", "v1", "endpointslices"), fixture: "endpointslices",
			invalid: func(u *unstructured.Unstructured) { set(t, u, "IPv5", "addressType") }, field: "addressType"},
		{name: "events.k8s.io", gvr: gvr("events.k8s.io", "v1", "events"), fixture: "events.events.k8s.io",
			invalid: func(u *unstructured.Unstructured) { set(t, u, "Bogus", "type") }, field: "type"},
		{name: "networking.k8s.io", gvr: gvr("networking.k8s.io", "v1", "networkpolicies"), fixture: "networkpolicies",
			invalid: func(u *unstructured.Unstructured) { set(t, u, []any{"Sideways"}, "spec", "policyTypes") }, field: "spec.policyTypes[0]"},
		{name: "policy", gvr: gvr("policy", "v1", "poddisruptionbudgets"), fixture: "poddisruptionbudgets",
			invalid: func(u *unstructured.Unstructured) { set(t, u, int64(-1), "spec", "minAvailable") }, field: "spec.minAvailable"},
		{name: "node.k8s.io", gvr: gvr("node.k8s.io", "v1", "runtimeclasses"), fixture: "runtimeclasses",
			invalid: func(u *unstructured.Unstructured) { set(t, u, "Not_A_Label", "handler") }, field: "handler"},
		{name: "scheduling.k8s.io", gvr: gvr("scheduling.k8s.io", "v1", "priorityclasses"), fixture: "priorityclasses",
			invalid: func(u *unstructured.Unstructured) { set(t, u, int64(2000000000), "value") }, field: "value"},
		{name: "rbac.authorization.k8s.io", gvr: gvr("rbac.authorization.k8s.io", "v1", "roles"), fixture: "roles",
			invalid: func(u *unstructured.Unstructured) {
				set(t, u, []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{}}}, "rules")
			}, field: "rules[0].verbs"},
		{name: "storage.k8s.io", gvr: gvr("storage.k8s.io", "v1", "storageclasses"), fixture: "storageclasses",
			invalid: func(u *unstructured.Unstructured) { set(t, u, "", "provisioner") }, field: "provisioner"},
		{name: "flowcontrol.apiserver.k8s.io", gvr: gvr("flowcontrol.apiserver.k8s.io", "v1", "flowschemas"), fixture: "flowschemas",
			invalid: func(u *unstructured.Unstructured) { set(t, u, int64(20000), "spec", "matchingPrecedence") }, field: "spec.matchingPrecedence"},
		{name: "storagemigration.k8s.io", gvr: gvr("storagemigration.k8s.io", "v1", "storageversionmigrations"), fixture: "storageversionmigrations",
			invalid: func(u *unstructured.Unstructured) { set(t, u, "", "spec", "resource", "resource") }, field: "spec.resource.resource"},
		{name: "resource.k8s.io", gvr: gvr("resource.k8s.io", "v1", "deviceclasses"), fixture: "deviceclasses",
			invalid: func(u *unstructured.Unstructured) {
				set(t, u, []any{map[string]any{"cel": map[string]any{"expression": "device.driver =="}}}, "spec", "selectors")
			}, field: "spec.selectors[0].cel.expression"},
		{name: "admissionregistration.k8s.io", gvr: gvr("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations"), fixture: "validatingwebhookconfigurations",
			invalid: func(u *unstructured.Unstructured) {
				hooks, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
				hooks[0].(map[string]any)["name"] = "nodots"
				set(t, u, hooks, "webhooks")
			}, field: "webhooks[0].name"},
		{name: "certificates.k8s.io", gvr: gvr("certificates.k8s.io", "v1", "certificatesigningrequests"), fixture: "certificatesigningrequests",
			invalid: func(u *unstructured.Unstructured) { set(t, u, "", "spec", "signerName") }, field: "spec.signerName"},
		{name: "apiextensions.k8s.io", gvr: gvr("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
			obj:     crdObject(t, gadgetCRD("sprockets", "sprockets.example.com")),
			invalid: func(u *unstructured.Unstructured) { set(t, u, "Galactic", "spec", "scope") }, field: "spec.scope"},
		{name: "groups.example.com (custom resources)", gvr: gvr("groups.example.com", "v1", "gadgets"), obj: map[string]any{
			"apiVersion": "groups.example.com/v1", "kind": "Gadget",
			"metadata": map[string]any{"name": "fixture-gadget", "namespace": "fixtures"},
			"spec":     map[string]any{"replicas": int64(2)},
		}, invalid: func(u *unstructured.Unstructured) { set(t, u, "two", "spec", "replicas") }, field: "spec.replicas", noStrategic: true},
		// Upstream rejects a TokenReview without a token as a bad request,
		// naming no field.
		{name: "authentication.k8s.io", gvr: gvr("authentication.k8s.io", "v1", "tokenreviews"), createOnly: true, obj: map[string]any{
			"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": map[string]any{"token": "not-a-token"},
		}, invalid: func(u *unstructured.Unstructured) { set(t, u, "", "spec", "token") }},
		{name: "authorization.k8s.io", gvr: gvr("authorization.k8s.io", "v1", "subjectaccessreviews"), createOnly: true, obj: map[string]any{
			"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
			"spec": map[string]any{"user": "jane", "resourceAttributes": map[string]any{"verb": "get", "resource": "pods", "namespace": "fixtures"}},
		}, invalid: func(u *unstructured.Unstructured) { unstructured.RemoveNestedField(u.Object, "spec", "user") }, field: "spec.user"},
	}

	served := servedGroups(t, s)
	for _, tc := range cases {
		delete(served, tc.gvr.Group)
	}
	if len(served) > 0 {
		t.Errorf("served groups without a case: %v", served)
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: tc.obj}
			if tc.fixture != "" {
				obj = loadFixture(t, tc.fixture)
			}
			var rc dynamic.ResourceInterface = dyn.Resource(tc.gvr)
			if ns := obj.GetNamespace(); ns != "" {
				rc = dyn.Resource(tc.gvr).Namespace(ns)
			}

			bad := obj.DeepCopy()
			tc.invalid(bad)
			_, err := rc.Create(ctx, bad, metav1.CreateOptions{})
			checkRejected(t, err, tc.field)

			created, err := rc.Create(ctx, obj, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if tc.createOnly {
				if _, ok := created.Object["status"]; !ok {
					t.Errorf("review without an answer: %v", created.Object)
				}
				_, err := rc.Get(ctx, "anything", metav1.GetOptions{})
				if !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
					t.Errorf("get of a review: %v, want 404 or 405", err)
				}
				return
			}
			name := obj.GetName()
			if _, err := rc.Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Fatalf("get: %v", err)
			}
			l, err := rc.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
			if err != nil || len(l.Items) != 1 {
				t.Fatalf("list: %v, %v", l, err)
			}
			w, err := rc.Watch(ctx, metav1.ListOptions{ResourceVersion: created.GetResourceVersion(), FieldSelector: "metadata.name=" + name})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			next := func(want watch.EventType, what string) {
				t.Helper()
				select {
				case ev := <-w.ResultChan():
					if ev.Type != want {
						t.Errorf("watch after %s: %s, want %s", what, ev.Type, want)
					}
				case <-time.After(10 * time.Second):
					t.Errorf("watch: no event after %s", what)
				}
			}

			// Controllers may write the object meanwhile (a CRD's status):
			// update the latest version.
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				cur, err := rc.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				labels := cur.GetLabels()
				if labels == nil {
					labels = map[string]string{}
				}
				labels["updated"] = "yes"
				cur.SetLabels(labels)
				_, err = rc.Update(ctx, cur, metav1.UpdateOptions{})
				return err
			})
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			next(watch.Modified, "update")

			patches := []struct {
				pt   types.PatchType
				body string
			}{
				{types.JSONPatchType, `[{"op":"add","path":"/metadata/labels/json","value":"yes"}]`},
				{types.MergePatchType, `{"metadata":{"labels":{"merge":"yes"}}}`},
				{types.StrategicMergePatchType, `{"metadata":{"labels":{"strategic":"yes"}}}`},
			}
			wantLabels := []string{"updated", "json", "merge", "strategic", "applied"}
			for _, p := range patches {
				_, err := rc.Patch(ctx, name, p.pt, []byte(p.body), metav1.PatchOptions{})
				if p.pt == types.StrategicMergePatchType && tc.noStrategic {
					if status, ok := err.(apierrors.APIStatus); !ok || status.Status().Code != http.StatusUnsupportedMediaType {
						t.Errorf("strategic merge patch of a custom resource: %v, want 415", err)
					}
					wantLabels = slices.DeleteFunc(wantLabels, func(l string) bool { return l == "strategic" })
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", p.pt, err)
				}
				next(watch.Modified, string(p.pt))
			}
			applied, err := json.Marshal(map[string]any{
				"apiVersion": obj.GetAPIVersion(), "kind": obj.GetKind(),
				"metadata": map[string]any{"name": name, "namespace": obj.GetNamespace(), "labels": map[string]string{"applied": "yes"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := rc.Patch(ctx, name, types.ApplyPatchType, applied, metav1.PatchOptions{FieldManager: "every-group"})
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			next(watch.Modified, "apply")
			for _, l := range wantLabels {
				if got.GetLabels()[l] != "yes" {
					t.Errorf("label %s missing after the patches: %v", l, got.GetLabels())
				}
			}
			if !slices.ContainsFunc(got.GetManagedFields(), func(m metav1.ManagedFieldsEntry) bool {
				return m.Manager == "every-group" && m.Operation == metav1.ManagedFieldsOperationApply
			}) {
				t.Errorf("managedFields lack the apply: %v", got.GetManagedFields())
			}

			if err := rc.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			// A CRD may take a moment to go: its finalizer removes its objects first.
			err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				_, err := rc.Get(ctx, name, metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
			if err != nil {
				t.Errorf("deleted object still there: %v", err)
			}
			// A graceful or finalized delete modifies the object first.
			for deleted := false; !deleted; {
				select {
				case ev := <-w.ResultChan():
					deleted = ev.Type == watch.Deleted
					if !deleted && ev.Type != watch.Modified {
						t.Fatalf("watch after delete: %s", ev.Type)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("watch: no DELETED event")
				}
			}
		})
	}
}

// checkRejected checks that err is a validation failure naming field among
// its causes, or, with no field, a bad request.
func checkRejected(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if !apierrors.IsBadRequest(err) {
			t.Errorf("invalid create: %v, want 400", err)
		}
		return
	}
	status, ok := err.(apierrors.APIStatus)
	if !ok || !apierrors.IsInvalid(err) || status.Status().Details == nil {
		t.Fatalf("invalid create: %v, want 422 Invalid", err)
	}
	var fields []string
	for _, c := range status.Status().Details.Causes {
		fields = append(fields, c.Field)
	}
	if !slices.Contains(fields, field) {
		t.Errorf("causes name %v, want %s (%v)", fields, field, err)
	}
}

// servedGroups returns the groups discovery lists, the core group as "".
func servedGroups(t *testing.T, s *testserver.Server) map[string]bool {
	t.Helper()
	groups, err := s.Client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, g := range groups.Groups {
		out[g.Name] = true
	}
	return out
}

// loadFixture reads testdata/<name>.yaml.
func loadFixture(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return obj
}

// gadgetCRD defines a namespaced custom resource with an integer
// spec.replicas.
func gadgetCRD(plural, group string) *apiextensionsv1.CustomResourceDefinition {
	kind := strings.ToUpper(plural[:1]) + strings.TrimSuffix(plural[1:], "s")
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%s", plural, group)},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Singular: strings.TrimSuffix(plural, "s"), Kind: kind},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"replicas": {Type: "integer"}}},
					},
				}},
			}},
		},
	}
}

// crdObject turns a CRD into an unstructured object.
func crdObject(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) map[string]any {
	t.Helper()
	data, err := json.Marshal(crd)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
