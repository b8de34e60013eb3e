package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestEndpointSliceColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"endpointslices", EndpointSlices(), []col{str("Name"), str("AddressType"), str("Ports"), str("Endpoints"), str("Age")}},
	})
}

func TestEndpointSliceCells(t *testing.T) {
	port := func(n int32) discoveryv1.EndpointPort { return discoveryv1.EndpointPort{Port: ptr.To(n)} }
	ep := func(addrs ...string) discoveryv1.Endpoint { return discoveryv1.Endpoint{Addresses: addrs} }
	tests := []struct {
		name      string
		ports     []discoveryv1.EndpointPort
		endpoints []discoveryv1.Endpoint
		wantPorts string
		wantEPs   string
	}{
		{"empty", nil, nil, "<unset>", "<unset>"},
		{"one of each", []discoveryv1.EndpointPort{port(8080)}, []discoveryv1.Endpoint{ep("10.0.0.1")}, "8080", "10.0.0.1"},
		{"named and wildcard ports", []discoveryv1.EndpointPort{{Name: ptr.To("http")}, {}}, []discoveryv1.Endpoint{ep("10.0.0.1", "10.0.0.2"), ep("10.0.0.3")}, "http,*", "10.0.0.1,10.0.0.2,10.0.0.3"},
		{"more than three", []discoveryv1.EndpointPort{port(1), port(2), port(3), port(4), port(5)}, []discoveryv1.Endpoint{ep("10.0.0.1", "10.0.0.2"), ep(), ep("10.0.0.3", "10.0.0.4")}, "1,2,3 + 2 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."},
		{"endpoint without addresses", nil, []discoveryv1.Endpoint{ep()}, "<unset>", "<unset>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Name: "web-abcde", CreationTimestamp: ago(time.Minute)},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       tt.ports,
				Endpoints:   tt.endpoints,
			}
			row := rowOf(t, EndpointSlices(), es)
			if diff := cmp.Diff([]interface{}{"web-abcde", "IPv4", tt.wantPorts, tt.wantEPs, "60s"}, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
