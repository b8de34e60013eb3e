package table

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

// testNow is the instant every test table measures ages against.
var testNow = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

// ago returns the metav1.Time d before testNow.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(testNow.Add(-d)) }

// convert runs tc against testNow.
func convert(t *testing.T, tc rest.TableConvertor, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	t.Helper()
	c, ok := tc.(*convertor)
	if !ok {
		t.Fatalf("convertor is %T, want *convertor", tc)
	}
	c.now = func() time.Time { return testNow }
	return c.ConvertToTable(context.Background(), obj, opts)
}

// rowOf converts obj and returns its single row.
func rowOf(t *testing.T, tc rest.TableConvertor, obj runtime.Object) metav1.TableRow {
	t.Helper()
	tab, err := convert(t, tc, obj, nil)
	if err != nil {
		t.Fatalf("ConvertToTable: %v", err)
	}
	if len(tab.Rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(tab.Rows))
	}
	if len(tab.Rows[0].Cells) != len(tab.ColumnDefinitions) {
		t.Fatalf("row has %d cells for %d columns", len(tab.Rows[0].Cells), len(tab.ColumnDefinitions))
	}
	return tab.Rows[0]
}

func TestNew(t *testing.T) {
	columns := []metav1.TableColumnDefinition{nameColumn(), column("Phase", "The phase.")}
	phase := New(columns, func(obj runtime.Object) ([]interface{}, error) {
		ns, ok := obj.(*corev1.Namespace)
		if !ok {
			return nil, ErrUnsupportedObject
		}
		return []interface{}{ns.Name, string(ns.Status.Phase)}, nil
	})
	a := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "7"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	remaining := int64(3)
	list := &corev1.NamespaceList{
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "next", RemainingItemCount: &remaining},
		Items:    []corev1.Namespace{*a, {ObjectMeta: metav1.ObjectMeta{Name: "b"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}},
	}

	tests := []struct {
		name string
		obj  runtime.Object
		opts runtime.Object
		want *metav1.Table
	}{{
		name: "single object",
		obj:  a,
		want: &metav1.Table{
			ListMeta:          metav1.ListMeta{ResourceVersion: "7"},
			ColumnDefinitions: columns,
			Rows:              []metav1.TableRow{{Cells: []interface{}{"a", "Active"}, Object: runtime.RawExtension{Object: a}}},
		},
	}, {
		name: "list keeps order and list metadata",
		obj:  list,
		opts: &metav1.TableOptions{},
		want: &metav1.Table{
			ListMeta:          list.ListMeta,
			ColumnDefinitions: columns,
			Rows: []metav1.TableRow{
				{Cells: []interface{}{"a", "Active"}, Object: runtime.RawExtension{Object: &list.Items[0]}},
				{Cells: []interface{}{"b", "Terminating"}, Object: runtime.RawExtension{Object: &list.Items[1]}},
			},
		},
	}, {
		name: "empty list has empty rows",
		obj:  &corev1.NamespaceList{ListMeta: metav1.ListMeta{ResourceVersion: "9"}},
		want: &metav1.Table{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, ColumnDefinitions: columns, Rows: []metav1.TableRow{}},
	}, {
		name: "no headers",
		obj:  a,
		opts: &metav1.TableOptions{NoHeaders: true},
		want: &metav1.Table{
			ListMeta: metav1.ListMeta{ResourceVersion: "7"},
			Rows:     []metav1.TableRow{{Cells: []interface{}{"a", "Active"}, Object: runtime.RawExtension{Object: a}}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := convert(t, phase, tt.obj, tt.opts)
			if err != nil {
				t.Fatalf("ConvertToTable: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
			if tt.want.Rows != nil && got.Rows == nil {
				t.Errorf("rows are nil, want an empty slice")
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		opts runtime.Object
		want error
	}{
		{"wrong object type", Pods(), &corev1.Node{}, nil, ErrUnsupportedObject},
		{"wrong item type in list", Nodes(), &corev1.PodList{Items: []corev1.Pod{{}}}, nil, ErrUnsupportedObject},
		{"default without metadata", Default(), &metav1.Status{}, nil, ErrUnsupportedObject},
		{"options of another type", Pods(), &corev1.Pod{}, &metav1.ListOptions{}, ErrUnsupportedOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := convert(t, tt.tc, tt.obj, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)))}}
	for name, tc := range map[string]rest.TableConvertor{"Default": Default(), "LimitRanges": LimitRanges()} {
		t.Run(name, func(t *testing.T) {
			tab, err := convert(t, tc, lr, nil)
			if err != nil {
				t.Fatalf("ConvertToTable: %v", err)
			}
			want := []metav1.TableColumnDefinition{
				{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
				{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
			}
			if diff := cmp.Diff(want, tab.ColumnDefinitions); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]interface{}{"limits", "2026-01-02T02:04:05Z"}, tab.Rows[0].Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

// TestColumns pins every table's column names, order, types and priorities
// (1 = only with -o wide) to those of the upstream printers.
func TestColumns(t *testing.T) {
	type col struct {
		Name     string
		Type     string
		Priority int32
	}
	s := func(name string) col { return col{name, "string", 0} }
	w := func(name string) col { return col{name, "string", 1} }
	i := func(name string) col { return col{name, "integer", 0} }
	tests := []struct {
		name string
		tc   rest.TableConvertor
		want []col
	}{
		{"pods", Pods(), []col{s("Name"), s("Ready"), s("Status"), s("Restarts"), s("Age"), w("IP"), w("Node"), w("Nominated Node"), w("Readiness Gates")}},
		{"nodes", Nodes(), []col{s("Name"), s("Status"), s("Roles"), s("Age"), s("Version"), w("Internal-IP"), w("External-IP"), w("OS-Image"), w("Kernel-Version"), w("Container-Runtime")}},
		{"services", Services(), []col{s("Name"), s("Type"), s("Cluster-IP"), s("External-IP"), s("Port(s)"), s("Age"), w("Selector")}},
		{"endpoints", Endpoints(), []col{s("Name"), s("Endpoints"), s("Age")}},
		{"events", Events(), []col{s("Last Seen"), s("Type"), s("Reason"), s("Object"), w("Subobject"), w("Source"), s("Message"), w("First Seen"), w("Count"), w("Name")}},
		{"namespaces", Namespaces(), []col{s("Name"), s("Status"), s("Age")}},
		{"configmaps", ConfigMaps(), []col{s("Name"), s("Data"), s("Age")}},
		{"secrets", Secrets(), []col{s("Name"), s("Type"), s("Data"), s("Age")}},
		{"serviceaccounts", ServiceAccounts(), []col{s("Name"), s("Age")}},
		{"limitranges", LimitRanges(), []col{s("Name"), {"Created At", "date", 0}}},
		{"resourcequotas", ResourceQuotas(), []col{s("Name"), s("Request"), s("Limit"), s("Age")}},
		{"persistentvolumes", PersistentVolumes(), []col{s("Name"), s("Capacity"), s("Access Modes"), s("Reclaim Policy"), s("Status"), s("Claim"), s("StorageClass"), s("VolumeAttributesClass"), s("Reason"), s("Age"), w("VolumeMode")}},
		{"persistentvolumeclaims", PersistentVolumeClaims(), []col{s("Name"), s("Status"), s("Volume"), s("Capacity"), s("Access Modes"), s("StorageClass"), s("VolumeAttributesClass"), s("Age"), w("VolumeMode")}},
		{"podtemplates", PodTemplates(), []col{s("Name"), s("Containers"), s("Images"), s("Pod Labels")}},
		{"replicationcontrollers", ReplicationControllers(), []col{s("Name"), i("Desired"), i("Current"), i("Ready"), s("Age"), w("Containers"), w("Images"), w("Selector")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []col
			for _, c := range tt.tc.(*convertor).columns {
				got = append(got, col{c.Name, c.Type, c.Priority})
				if c.Description == "" {
					t.Errorf("column %q has no description", c.Name)
				}
				if (c.Format == "name") != (c.Name == "Name") {
					t.Errorf("column %q has format %q", c.Name, c.Format)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		name string
		t    metav1.Time
		want string
	}{
		{"zero", metav1.Time{}, "<unknown>"},
		{"seconds", ago(42 * time.Second), "42s"},
		{"minutes", ago(5*time.Minute + 30*time.Second), "5m30s"},
		{"days", ago(50 * time.Hour), "2d2h"},
		{"future", ago(-time.Hour), "<invalid>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := age(tt.t, testNow); got != tt.want {
				t.Errorf("age = %q, want %q", got, tt.want)
			}
		})
	}
}
