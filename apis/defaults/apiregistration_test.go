package defaults

import (
	"testing"

	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

func TestAPIService(t *testing.T) {
	local := &apiregistrationv1.APIService{}
	APIService(local)
	if local.Spec.Service != nil {
		t.Errorf("a local APIService got a service: %v", local.Spec.Service)
	}
	remote := &apiregistrationv1.APIService{Spec: apiregistrationv1.APIServiceSpec{Service: &apiregistrationv1.ServiceReference{Namespace: "ns", Name: "api"}}}
	APIService(remote)
	if p := remote.Spec.Service.Port; p == nil || *p != 443 {
		t.Errorf("port %v, want 443", p)
	}
	port := int32(8443)
	remote.Spec.Service.Port = &port
	APIService(remote)
	if *remote.Spec.Service.Port != 8443 {
		t.Errorf("a set port changed to %d", *remote.Spec.Service.Port)
	}
}
