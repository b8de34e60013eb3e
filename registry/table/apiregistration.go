package table

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// APIServices returns the table convertor for apiregistration.k8s.io
// APIServices: Name, Service, Available, Age.
//
// Service is "namespace/name", or "Local" for the API server's own groups.
// Available is the Available condition's status, followed by its reason in
// parentheses when it is not True ("False (ServiceNotFound)"); "Unknown"
// without the condition.
func APIServices() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Service", "The reference to the service that hosts this API endpoint."),
		column("Available", "Whether this service is available."),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(s *apiregistrationv1.APIService, now time.Time) []interface{} {
		service := "Local"
		if ref := s.Spec.Service; ref != nil {
			service = ref.Namespace + "/" + ref.Name
		}
		available := string(apiregistrationv1.ConditionUnknown)
		for _, c := range s.Status.Conditions {
			if c.Type != apiregistrationv1.Available {
				continue
			}
			available = string(c.Status)
			if c.Status != apiregistrationv1.ConditionTrue && c.Reason != "" {
				available = fmt.Sprintf("%s (%s)", c.Status, c.Reason)
			}
			break
		}
		return []interface{}{s.Name, service, available, age(s.CreationTimestamp, now)}
	}))
}
