package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/registry"
)

// TestEveryResource runs the same life cycle over every row of the resource table,
// each with its fixture in testdata/<resource>.yaml: discovery, create, table
// output, get, list, watch, update, the status subresource, and delete.
func TestEveryResource(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(s.Config)
	s.CreateNamespace(t, "fixtures")

	discovered := map[string]metav1.APIResource{}
	_, lists, err := s.Client.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	for _, l := range lists {
		for _, r := range l.APIResources {
			discovered[l.GroupVersion+"/"+r.Name] = r
		}
	}

	for _, row := range registry.Resources() {
		t.Run(row.GroupResource().String(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", row.Name+"."+row.GroupVersion.Group+".yaml"))
			if err != nil {
				data, err = os.ReadFile(filepath.Join("testdata", row.Name+".yaml"))
			}
			if err != nil {
				t.Fatalf("every resource needs a fixture: %v", err)
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(data, &obj.Object); err != nil {
				t.Fatalf("fixture: %v", err)
			}

			for _, gv := range row.GroupVersions() {
				d, ok := discovered[gv.String()+"/"+row.Name]
				if !ok {
					t.Fatalf("%s not in discovery of %s", row.Name, gv)
				}
				if d.Kind != row.Kind || d.Namespaced != row.Namespaced || d.SingularName != row.Singular ||
					!slices.Equal(d.ShortNames, row.ShortNames) || !slices.Equal(d.Categories, row.Categories) {
					t.Errorf("discovery of %s says %+v", gv, d)
				}
				for _, verb := range []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"} {
					if !slices.Contains(d.Verbs, verb) {
						t.Errorf("discovery of %s lacks verb %s: %v", gv, verb, d.Verbs)
					}
				}
			}

			var rc dynamic.ResourceInterface = dyn.Resource(row.GroupVersion.WithResource(row.Name))
			if row.Namespaced {
				rc = dyn.Resource(row.GroupVersion.WithResource(row.Name)).Namespace(obj.GetNamespace())
			}
			created, err := rc.Create(ctx, obj, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if created.GetUID() == "" || created.GetResourceVersion() == "" || created.GetCreationTimestamp().Time.IsZero() {
				t.Errorf("create did not fill metadata: %v", created.Object["metadata"])
			}

			table := &metav1.Table{}
			path := "/apis/" + row.GroupVersion.String()
			if row.GroupVersion.Group == "" {
				path = "/api/v1"
			}
			if row.Namespaced {
				path += "/namespaces/" + obj.GetNamespace()
			}
			path += "/" + row.Name + "/" + obj.GetName()
			err = s.Client.CoreV1().RESTClient().Get().AbsPath(path).
				SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(table)
			if err != nil {
				t.Fatalf("table: %v", err)
			}
			if len(table.ColumnDefinitions) < 2 || len(table.Rows) != 1 || len(table.Rows[0].Cells) != len(table.ColumnDefinitions) {
				t.Errorf("table: %d columns, %d rows", len(table.ColumnDefinitions), len(table.Rows))
			} else if table.Rows[0].Cells[0] != obj.GetName() && row.Kind != "Event" {
				t.Errorf("table's first cell %v, want the name", table.Rows[0].Cells[0])
			}

			if _, err := rc.Get(ctx, obj.GetName(), metav1.GetOptions{}); err != nil {
				t.Fatalf("get: %v", err)
			}
			l, err := rc.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + obj.GetName()})
			if err != nil || len(l.Items) != 1 {
				t.Fatalf("list by name: %v items, %v", l, err)
			}

			w, err := rc.Watch(ctx, metav1.ListOptions{ResourceVersion: created.GetResourceVersion(), FieldSelector: "metadata.name=" + obj.GetName()})
			if err != nil {
				t.Fatalf("watch: %v", err)
			}
			defer w.Stop()
			// A controller may write the object meanwhile (the disruption
			// controller sets a budget's status): retry on a conflict.
			var updated *unstructured.Unstructured
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				cur, err := rc.Get(ctx, obj.GetName(), metav1.GetOptions{})
				if err != nil {
					return err
				}
				cur.SetLabels(map[string]string{"touched": "yes"})
				updated, err = rc.Update(ctx, cur, metav1.UpdateOptions{})
				return err
			})
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			if updated.GetResourceVersion() == created.GetResourceVersion() {
				t.Errorf("update kept resourceVersion %s", updated.GetResourceVersion())
			}
			select {
			case ev := <-w.ResultChan():
				if ev.Type != watch.Modified {
					t.Errorf("watch: %s, want MODIFIED", ev.Type)
				}
			case <-time.After(10 * time.Second):
				t.Error("watch: no event for the update")
			}

			if row.ValidateStatus != nil {
				if _, err := rc.Get(ctx, obj.GetName(), metav1.GetOptions{}, "status"); err != nil {
					t.Errorf("get status: %v", err)
				}
			}

			if err := rc.Delete(ctx, obj.GetName(), metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			got, err := rc.Get(ctx, obj.GetName(), metav1.GetOptions{})
			switch {
			case row.Kind == "Namespace":
				if err != nil || got.Object["status"].(map[string]any)["phase"] != string(corev1.NamespaceTerminating) {
					t.Errorf("deleted namespace should be Terminating: %v %v", got, err)
				}
			case protectionFinalizers[row.Kind] != "":
				// Held by its protection finalizer (added at create, as
				// upstream's StorageObjectInUseProtection admission does)
				// until the volume protection controller sees it unused.
				if err == nil && !slices.Contains(got.GetFinalizers(), protectionFinalizers[row.Kind]) {
					t.Errorf("deleted %s has finalizers %v, want %s", row.Kind, got.GetFinalizers(), protectionFinalizers[row.Kind])
				}
				err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
					_, err := rc.Get(ctx, obj.GetName(), metav1.GetOptions{})
					return apierrors.IsNotFound(err), nil
				})
				if err != nil {
					t.Errorf("deleted %s never went: %v", row.Kind, err)
				}
			case row.OrphanByDefault:
				// Deleted without a policy, its dependents are orphaned: it
				// waits for the garbage collector to remove the orphan finalizer.
				if err == nil && !slices.Contains(got.GetFinalizers(), metav1.FinalizerOrphanDependents) {
					t.Errorf("deleted %s has finalizers %v, want %s", row.Kind, got.GetFinalizers(), metav1.FinalizerOrphanDependents)
				}
				err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
					_, err := rc.Get(ctx, obj.GetName(), metav1.GetOptions{})
					return apierrors.IsNotFound(err), nil
				})
				if err != nil {
					t.Errorf("deleted %s never went: %v", row.Kind, err)
				}
			case err == nil:
				t.Errorf("deleted object still there: %v", got.Object["metadata"])
			}
		})
	}
}

// protectionFinalizers are the finalizers new objects of these kinds get.
var protectionFinalizers = map[string]string{
	"PersistentVolume":      "kubernetes.io/pv-protection",
	"PersistentVolumeClaim": "kubernetes.io/pvc-protection",
}
