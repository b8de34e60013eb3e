package validation

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func validEndpointSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  meta(),
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{"10.1.2.3"},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
			Hostname:   ptr("web-0"),
			NodeName:   ptr("node-1"),
			Zone:       ptr("us-east-1a"),
			Hints:      &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "us-east-1a"}}, ForNodes: []discoveryv1.ForNode{{Name: "node-1"}}},
		}},
		Ports: []discoveryv1.EndpointPort{
			{Name: ptr("http"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(int32(80)), AppProtocol: ptr("kubernetes.io/h2c")},
			{Name: ptr(""), Protocol: ptr(corev1.ProtocolUDP), Port: ptr(int32(53))},
		},
	}
}

func TestEndpointSlice(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *discoveryv1.EndpointSlice)
		want   []string
	}{
		{name: "valid", mutate: func(*discoveryv1.EndpointSlice) {}},
		{name: "namespace required", mutate: func(s *discoveryv1.EndpointSlice) { s.Namespace = "" },
			want: []string{"FieldValueRequired metadata.namespace"}},
		{name: "address type required", mutate: func(s *discoveryv1.EndpointSlice) { s.AddressType = "" },
			want: []string{"FieldValueRequired addressType"}},
		{name: "address type known", mutate: func(s *discoveryv1.EndpointSlice) { s.AddressType = "IP" },
			want: []string{"FieldValueNotSupported addressType"}},
		{name: "IPv4 addresses", mutate: func(s *discoveryv1.EndpointSlice) {
			s.Endpoints[0].Addresses = []string{"fd00::1", "127.0.0.1", "010.1.2.3", "web"}
		}, want: []string{"FieldValueInvalid endpoints[0].addresses", "FieldValueInvalid endpoints[0].addresses[1]",
			"FieldValueInvalid endpoints[0].addresses[2]", "FieldValueInvalid endpoints[0].addresses[3]"}},
		{name: "IPv6 addresses", mutate: func(s *discoveryv1.EndpointSlice) {
			s.AddressType = discoveryv1.AddressTypeIPv6
			s.Endpoints[0].Addresses = []string{"fd00::1", "10.1.2.3", "::"}
		}, want: []string{"FieldValueInvalid endpoints[0].addresses", "FieldValueInvalid endpoints[0].addresses[2]"}},
		{name: "FQDN addresses", mutate: func(s *discoveryv1.EndpointSlice) {
			s.AddressType = discoveryv1.AddressTypeFQDN
			s.Endpoints[0].Addresses = []string{"web.example.com", "web"}
		}, want: []string{"FieldValueInvalid endpoints[0].addresses[1]"}},
		{name: "addresses required", mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = nil },
			want: []string{"FieldValueRequired endpoints[0].addresses"}},
		{name: "too many endpoints", mutate: func(s *discoveryv1.EndpointSlice) {
			s.Endpoints = make([]discoveryv1.Endpoint, 1001)
		}, want: []string{"FieldValueTooMany endpoints"}},
		{name: "too many addresses", mutate: func(s *discoveryv1.EndpointSlice) {
			for i := range 100 {
				s.Endpoints[0].Addresses = append(s.Endpoints[0].Addresses, fmt.Sprintf("10.0.0.%d", i+1))
			}
		}, want: []string{"FieldValueTooMany endpoints[0].addresses"}},
		{name: "node name and hostname", mutate: func(s *discoveryv1.EndpointSlice) {
			s.Endpoints[0].NodeName = ptr("Node_1")
			s.Endpoints[0].Hostname = ptr("web.0")
		}, want: []string{"FieldValueInvalid endpoints[0].nodeName", "FieldValueInvalid endpoints[0].hostname"}},
		{name: "reserved topology key", mutate: func(s *discoveryv1.EndpointSlice) {
			s.Endpoints[0].DeprecatedTopology = map[string]string{corev1.LabelTopologyZone: "a"}
		}, want: []string{"InternalError endpoints[0].deprecatedTopology[topology.kubernetes.io/zone]"}},
		{name: "hints", mutate: func(s *discoveryv1.EndpointSlice) {
			h := s.Endpoints[0].Hints
			h.ForZones = append(h.ForZones, discoveryv1.ForZone{Name: "us-east-1a"}, discoveryv1.ForZone{Name: "-a"})
			h.ForNodes = append(h.ForNodes, discoveryv1.ForNode{Name: "Node"})
		}, want: []string{"FieldValueDuplicate endpoints[0].hints.forZones[1].name", "FieldValueInvalid endpoints[0].hints.forZones[2].name",
			"FieldValueInvalid endpoints[0].hints.forNodes[1].name"}},
		{name: "too many zone hints", mutate: func(s *discoveryv1.EndpointSlice) {
			s.Endpoints[0].Hints.ForZones = make([]discoveryv1.ForZone, 9)
		}, want: []string{"FieldValueTooMany endpoints[0].hints.forZones"}},
		{name: "ports", mutate: func(s *discoveryv1.EndpointSlice) {
			s.Ports = append(s.Ports,
				discoveryv1.EndpointPort{Name: ptr("http"), Protocol: ptr(corev1.Protocol("ICMP"))},
				discoveryv1.EndpointPort{Name: ptr("Web"), AppProtocol: ptr("a b")})
		}, want: []string{"FieldValueDuplicate ports[2].name", "FieldValueNotSupported ports[2].protocol",
			"FieldValueInvalid ports[3].name", "FieldValueRequired ports[3].protocol", "FieldValueInvalid ports[3].appProtocol"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validEndpointSlice()
			tc.mutate(s)
			checkErrs(t, EndpointSlice(s), tc.want)
		})
	}
}

func TestEndpointSliceUpdate(t *testing.T) {
	old := validEndpointSlice()
	old.Endpoints[0].Addresses = []string{"127.0.0.1"}
	s := old.DeepCopy()
	s.Ports = nil
	checkErrs(t, EndpointSliceUpdate(s, old), nil)
	s.Endpoints[0].Hostname = ptr("web-1")
	checkErrs(t, EndpointSliceUpdate(s, old), []string{"FieldValueInvalid endpoints[0].addresses[0]"})
	s = validEndpointSlice()
	s.AddressType = discoveryv1.AddressTypeFQDN
	s.Endpoints[0].Addresses = []string{"web.example.com"}
	checkErrs(t, EndpointSliceUpdate(s, validEndpointSlice()), []string{"FieldValueInvalid addressType"})
}
