package table

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// ErrUnsupportedObject is wrapped by the errors a convertor returns when it is
// given an object of a type its rows cannot be built from.
var ErrUnsupportedObject = errors.New("unsupported object type")

// ErrUnsupportedOptions is wrapped by the error a convertor returns when the
// table options are not a *metav1.TableOptions.
var ErrUnsupportedOptions = errors.New("unsupported table options")

// RowFunc returns the cells of one object's row, in column order.
type RowFunc func(obj runtime.Object) ([]interface{}, error)

// rowFunc builds one object's row: its cells and, optionally, its conditions.
// now is the instant ages are measured against. The convertor sets the row's
// Object itself.
type rowFunc func(obj runtime.Object, now time.Time) (metav1.TableRow, error)

// convertor is the rest.TableConvertor behind New and every per-resource
// constructor.
type convertor struct {
	columns []metav1.TableColumnDefinition
	row     rowFunc
	// listRow, if set, builds the row function for the items of a list after
	// seeing all of them, for cells that depend on the other items (the
	// effective default StorageClass). Single objects always use row.
	listRow func(items []runtime.Object) rowFunc
	// now returns the current time; it is read once per ConvertToTable call.
	now func() time.Time
}

var _ rest.TableConvertor = (*convertor)(nil)

// New returns a rest.TableConvertor with these columns whose rows come from
// row. It converts a single object to a one-row table and a list to one row per
// item (in list order); each row's Object holds the object it was built from.
// The table carries the list's resourceVersion, continue token and remaining
// item count, or the single object's resourceVersion. With
// metav1.TableOptions.NoHeaders the column definitions are left out.
func New(columns []metav1.TableColumnDefinition, row RowFunc) rest.TableConvertor {
	return newConvertor(columns, func(obj runtime.Object, _ time.Time) (metav1.TableRow, error) {
		c, err := row(obj)
		return metav1.TableRow{Cells: c}, err
	})
}

// Default returns a rest.TableConvertor with the columns of
// rest.NewDefaultTableConvertor: Name and Created At (an RFC 3339 UTC
// timestamp). It suits any object with ObjectMeta.
func Default() rest.TableConvertor {
	doc := metav1.ObjectMeta{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: doc["name"]},
		{Name: "Created At", Type: "date", Description: doc["creationTimestamp"]},
	}
	return New(columns, defaultRow)
}

func defaultRow(obj runtime.Object) ([]interface{}, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("%w %T: %w", ErrUnsupportedObject, obj, err)
	}
	return []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}, nil
}

func newConvertor(columns []metav1.TableColumnDefinition, row rowFunc) *convertor {
	return &convertor{columns: columns, row: row, now: time.Now}
}

// ConvertToTable implements rest.TableConvertor.
func (c *convertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	noHeaders, err := noHeaders(tableOptions)
	if err != nil {
		return nil, err
	}
	items, row := []runtime.Object{obj}, c.row
	if meta.IsListType(obj) {
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, fmt.Errorf("extract items of %T: %w", obj, err)
		}
		if c.listRow != nil {
			row = c.listRow(items)
		}
	}

	now := c.now()
	table := &metav1.Table{Rows: make([]metav1.TableRow, 0, len(items))}
	for _, item := range items {
		r, err := row(item, now)
		if err != nil {
			return nil, err
		}
		r.Object = runtime.RawExtension{Object: item}
		table.Rows = append(table.Rows, r)
	}

	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
		table.Continue = m.GetContinue()
		table.RemainingItemCount = m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	if !noHeaders {
		table.ColumnDefinitions = slices.Clone(c.columns)
	}
	return table, nil
}

// noHeaders reads metav1.TableOptions.NoHeaders; nil options mean headers.
func noHeaders(tableOptions runtime.Object) (bool, error) {
	switch o := tableOptions.(type) {
	case nil:
		return false, nil
	case *metav1.TableOptions:
		return o != nil && o.NoHeaders, nil
	default:
		return false, fmt.Errorf("%w %T: can't display tabular output", ErrUnsupportedOptions, tableOptions)
	}
}

// cells adapts a function that prints one concrete type to a rowFunc.
func cells[T runtime.Object](fn func(obj T, now time.Time) []interface{}) rowFunc {
	return func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
		o, ok := obj.(T)
		if !ok {
			return metav1.TableRow{}, unsupported[T](obj)
		}
		return metav1.TableRow{Cells: fn(o, now)}, nil
	}
}

func unsupported[T runtime.Object](obj runtime.Object) error {
	var want T
	return fmt.Errorf("%w %T, want %T", ErrUnsupportedObject, obj, want)
}

// age is the Age cell: how long before now t was, or "<unknown>" for a zero t.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// microAge is age for a metav1.MicroTime.
func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// orNone returns s, or "<none>" if s is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// column returns a string column shown by plain "kubectl get".
func column(name, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: "string", Description: description}
}

// wide returns c with priority 1, shown only by "kubectl get -o wide".
func wide(c metav1.TableColumnDefinition) metav1.TableColumnDefinition {
	c.Priority = 1
	return c
}

// typed returns c with the given column type ("integer", ...).
func typed(c metav1.TableColumnDefinition, typ string) metav1.TableColumnDefinition {
	c.Type = typ
	return c
}

// nameColumn is the Name column every resource table starts with.
func nameColumn() metav1.TableColumnDefinition {
	c := column("Name", metav1.ObjectMeta{}.SwaggerDoc()["name"])
	c.Format = "name"
	return c
}

// ageColumn is the Age column, filled by age(obj.CreationTimestamp, now).
func ageColumn() metav1.TableColumnDefinition {
	return column("Age", metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"])
}
