package table

import (
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// PodDisruptionBudgets returns the table convertor for pod disruption
// budgets: Name, Min Available, Max Unavailable, Allowed Disruptions, Age.
//
// Min Available and Max Unavailable show the number or percentage as given,
// or "N/A" when unset.
func PodDisruptionBudgets() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Min Available", "The minimum number of pods that must be available."),
		column("Max Unavailable", "The maximum number of pods that may be unavailable."),
		typed(column("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time."), "integer"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(pdb *policyv1.PodDisruptionBudget, now time.Time) []interface{} {
		minAvailable, maxUnavailable := "N/A", "N/A"
		if v := pdb.Spec.MinAvailable; v != nil {
			minAvailable = v.String()
		}
		if v := pdb.Spec.MaxUnavailable; v != nil {
			maxUnavailable = v.String()
		}
		return []interface{}{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), age(pdb.CreationTimestamp, now)}
	}))
}
