package table

import (
	"time"

	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// PriorityClasses returns the table convertor for priority classes: Name,
// Value, Global-Default, Age, PreemptionPolicy.
//
// Global-Default holds a bool. PreemptionPolicy is empty when unset; upstream
// fills it only in wide output but shows the column by default, so it is not
// a wide column here either.
func PriorityClasses() rest.TableConvertor {
	pc := schedulingv1.PriorityClass{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("Value", pc["value"]), "integer"),
		typed(column("Global-Default", pc["globalDefault"]), "boolean"),
		ageColumn(),
		column("PreemptionPolicy", pc["preemptionPolicy"]),
	}
	return newConvertor(columns, cells(func(pc *schedulingv1.PriorityClass, now time.Time) []interface{} {
		policy := ""
		if pc.PreemptionPolicy != nil {
			policy = string(*pc.PreemptionPolicy)
		}
		return []interface{}{pc.Name, int64(pc.Value), pc.GlobalDefault, age(pc.CreationTimestamp, now), policy}
	}))
}
