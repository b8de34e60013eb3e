package defaults

import (
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// defaultAPIServicePort is the port of an aggregated API server's Service
// when the APIService names none.
const defaultAPIServicePort int32 = 443

// APIService defaults an apiregistration.k8s.io/v1 APIService: a service
// reference without a port gets port 443.
func APIService(s *apiregistrationv1.APIService) {
	if ref := s.Spec.Service; ref != nil {
		setIfNil(&ref.Port, defaultAPIServicePort)
	}
}
