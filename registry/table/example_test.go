package table_test

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubelite/kubelite/registry/table"
)

// ExampleNew builds a convertor with one wide column.
func ExampleNew() {
	columns := []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name"},
		{Name: "Phase", Type: "string"},
		{Name: "Finalizers", Type: "integer", Priority: 1},
	}
	tc := table.New(columns, func(obj runtime.Object) ([]interface{}, error) {
		ns, ok := obj.(*corev1.Namespace)
		if !ok {
			return nil, fmt.Errorf("%w %T", table.ErrUnsupportedObject, obj)
		}
		return []interface{}{ns.Name, string(ns.Status.Phase), int64(len(ns.Spec.Finalizers))}, nil
	})

	list := &corev1.NamespaceList{Items: []corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		{ObjectMeta: metav1.ObjectMeta{Name: "old"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	}}
	t, err := tc.ConvertToTable(context.Background(), list, &metav1.TableOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var header []string
	for _, c := range t.ColumnDefinitions {
		header = append(header, fmt.Sprintf("%s(%d)", c.Name, c.Priority))
	}
	fmt.Println(strings.Join(header, " "))
	for _, r := range t.Rows {
		fmt.Println(r.Cells...)
	}
	// Output:
	// Name(0) Phase(0) Finalizers(1)
	// default Active 0
	// old Terminating 0
}
