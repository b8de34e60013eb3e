package defaults

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// EndpointSlice defaults a discovery.k8s.io/v1 endpoint slice: every port
// without a name gets the empty name, and without a protocol gets TCP.
func EndpointSlice(es *discoveryv1.EndpointSlice) {
	for i := range es.Ports {
		setIfNil(&es.Ports[i].Name, "")
		setIfNil(&es.Ports[i].Protocol, corev1.ProtocolTCP)
	}
}
