package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
)

// quantityByValue compares quantities by value, which cmp cannot do on its
// own because Quantity has unexported fields.
func quantityByValue() cmp.Option {
	return cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })
}

// defaultCase is one row of a defaulting table: in is defaulted with the
// function under test and must then equal want.
type defaultCase[T any] struct {
	name string
	in   T
	want T
}

// runCases defaults a deep copy of each case's input with fn and compares it
// with want. It then defaults another copy of the result to check that fn is
// idempotent.
func runCases[T any, P interface {
	*T
	DeepCopy() *T
}](t *testing.T, fn func(*T), cases []defaultCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := P(&tc.in).DeepCopy()
			fn(got)
			if diff := cmp.Diff(&tc.want, got, quantityByValue()); diff != "" {
				t.Errorf("defaulted object mismatch (-want +got):\n%s", diff)
			}
			again := P(got).DeepCopy()
			fn(again)
			if diff := cmp.Diff(got, again, quantityByValue()); diff != "" {
				t.Errorf("defaulting twice changed the object (-once +twice):\n%s", diff)
			}
		})
	}
}

// q parses a quantity, failing loudly on a typo in a test table.
func q(s string) resource.Quantity {
	return resource.MustParse(s)
}
