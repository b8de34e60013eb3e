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

// col is what the column tests pin of a column definition.
type col struct {
	Name     string
	Type     string
	Format   string
	Priority int32
}

// str, wideStr, integer and boolean are string, wide string, integer and
// boolean columns; a column named "Name" gets the "name" format, as upstream
// gives it.
func str(name string) col     { return col{name, "string", nameFormat(name), 0} }
func wideStr(name string) col { return col{name, "string", nameFormat(name), 1} }
func integer(name string) col { return col{name, "integer", "", 0} }
func boolean(name string) col { return col{name, "boolean", "", 0} }

func nameFormat(name string) string {
	if name == "Name" {
		return "name"
	}
	return ""
}

// columnCase is one table's expected columns.
type columnCase struct {
	name string
	tc   rest.TableConvertor
	want []col
}

// testColumns pins every table's column names, order, types, formats and
// priorities (1 = only with -o wide) to those of the upstream printers, and
// checks that each column is described.
func testColumns(t *testing.T, tests []columnCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []col
			for _, c := range tt.tc.(*convertor).columns {
				got = append(got, col{c.Name, c.Type, c.Format, c.Priority})
				if c.Description == "" {
					t.Errorf("column %q has no description", c.Name)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"pods", Pods(), []col{str("Name"), str("Ready"), str("Status"), str("Restarts"), str("Age"), wideStr("IP"), wideStr("Node"), wideStr("Nominated Node"), wideStr("Readiness Gates")}},
		{"nodes", Nodes(), []col{str("Name"), str("Status"), str("Roles"), str("Age"), str("Version"), wideStr("Internal-IP"), wideStr("External-IP"), wideStr("OS-Image"), wideStr("Kernel-Version"), wideStr("Container-Runtime")}},
		{"services", Services(), []col{str("Name"), str("Type"), str("Cluster-IP"), str("External-IP"), str("Port(s)"), str("Age"), wideStr("Selector")}},
		{"endpoints", Endpoints(), []col{str("Name"), str("Endpoints"), str("Age")}},
		{"events", Events(), []col{str("Last Seen"), str("Type"), str("Reason"), str("Object"), wideStr("Subobject"), wideStr("Source"), str("Message"), wideStr("First Seen"), wideStr("Count"), wideStr("Name")}},
		{"namespaces", Namespaces(), []col{str("Name"), str("Status"), str("Age")}},
		{"configmaps", ConfigMaps(), []col{str("Name"), str("Data"), str("Age")}},
		{"secrets", Secrets(), []col{str("Name"), str("Type"), str("Data"), str("Age")}},
		{"serviceaccounts", ServiceAccounts(), []col{str("Name"), str("Age")}},
		{"limitranges", LimitRanges(), []col{str("Name"), {"Created At", "date", "", 0}}},
		{"resourcequotas", ResourceQuotas(), []col{str("Name"), str("Request"), str("Limit"), str("Age")}},
		{"persistentvolumes", PersistentVolumes(), []col{str("Name"), str("Capacity"), str("Access Modes"), str("Reclaim Policy"), str("Status"), str("Claim"), str("StorageClass"), str("VolumeAttributesClass"), str("Reason"), str("Age"), wideStr("VolumeMode")}},
		{"persistentvolumeclaims", PersistentVolumeClaims(), []col{str("Name"), str("Status"), str("Volume"), str("Capacity"), str("Access Modes"), str("StorageClass"), str("VolumeAttributesClass"), str("Age"), wideStr("VolumeMode")}},
		{"podtemplates", PodTemplates(), []col{str("Name"), str("Containers"), str("Images"), str("Pod Labels")}},
		{"replicationcontrollers", ReplicationControllers(), []col{str("Name"), integer("Desired"), integer("Current"), integer("Ready"), str("Age"), wideStr("Containers"), wideStr("Images"), wideStr("Selector")}},
	})
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
