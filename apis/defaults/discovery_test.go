package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestEndpointSlice(t *testing.T) {
	runCases(t, EndpointSlice, []defaultCase[discoveryv1.EndpointSlice]{{
		name: "ports get empty name and TCP",
		in: discoveryv1.EndpointSlice{
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Port: new(int32(80))}},
		},
		want: discoveryv1.EndpointSlice{
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Port: new(int32(80)), Name: new(""), Protocol: new(corev1.ProtocolTCP)}},
		},
	}, {
		name: "name and protocol kept",
		in:   discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Name: new("dns"), Protocol: new(corev1.ProtocolUDP)}}},
		want: discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Name: new("dns"), Protocol: new(corev1.ProtocolUDP)}}},
	}})
}
