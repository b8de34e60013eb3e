package table

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

// Leases returns the table convertor for leases: Name, Holder (the holder
// identity, empty when nobody holds the lease), Age.
func Leases() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Holder", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(l *coordinationv1.Lease, now time.Time) []interface{} {
		return []interface{}{l.Name, ptr.Deref(l.Spec.HolderIdentity, ""), age(l.CreationTimestamp, now)}
	}))
}
