package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// EndpointSlice limits, as upstream.
const (
	maxSliceEndpoints    = 1000
	maxEndpointAddresses = 100
	maxSlicePorts        = 20000
	maxTopologyLabels    = 16
	maxZoneHints         = 8
	maxNodeHints         = 8
)

var (
	addressTypes       = []discoveryv1.AddressType{discoveryv1.AddressTypeFQDN, discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}
	slicePortProtocols = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}
)

// EndpointSlice validates an EndpointSlice on create: a known addressType,
// addresses of that type, and well-formed ports and hints.
func EndpointSlice(s *discoveryv1.EndpointSlice) field.ErrorList {
	return endpointSlice(s, nil)
}

// EndpointSliceUpdate validates an EndpointSlice update; addressType is
// immutable, and endpoints carried over unchanged are not rechecked.
func EndpointSliceUpdate(s, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := endpointSlice(s, old)
	return append(errs, immutable(s.AddressType, old.AddressType, field.NewPath("addressType"))...)
}

func endpointSlice(s, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := objectMeta(&s.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	if s.AddressType == "" {
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	} else if !containsValue(addressTypes, s.AddressType) {
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), s.AddressType, addressTypes))
	}
	errs = append(errs, slicePorts(s.Ports, field.NewPath("ports"))...)
	epErrs := sliceEndpoints(s.Endpoints, s.AddressType, field.NewPath("endpoints"))
	// Endpoints an older server accepted stay valid while unchanged.
	if len(epErrs) > 0 && old != nil && equality.Semantic.DeepEqual(s.Endpoints, old.Endpoints) {
		epErrs = nil
	}
	return append(errs, epErrs...)
}

func containsValue[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func sliceEndpoints(list []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(list) > maxSliceEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(list), maxSliceEndpoints)}
	}
	var errs field.ErrorList
	for i, ep := range list {
		p := fldPath.Index(i)
		ap := p.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxEndpointAddresses {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), maxEndpointAddresses))
		}
		for j, a := range ep.Addresses {
			errs = append(errs, sliceAddress(a, addrType, ap, ap.Index(j))...)
		}
		if ep.NodeName != nil {
			errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *ep.NodeName, p.Child("nodeName"))...)
		}
		tp := p.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(tp, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, tp)...)
		if _, ok := ep.DeprecatedTopology[corev1.LabelTopologyZone]; ok {
			errs = append(errs, field.InternalError(tp.Key(corev1.LabelTopologyZone), fmt.Errorf("reserved key was not removed in conversion")))
		}
		if ep.Hostname != nil {
			errs = append(errs, dnsLabel(*ep.Hostname, p.Child("hostname"))...)
		}
		if ep.Hints != nil {
			errs = append(errs, endpointHints(ep.Hints, p.Child("hints"))...)
		}
	}
	return errs
}

// sliceAddress checks one address against the slice's address type; the
// family mismatch is reported on the whole list, as upstream does.
func sliceAddress(a string, addrType discoveryv1.AddressType, listPath, fldPath *field.Path) field.ErrorList {
	switch addrType {
	case discoveryv1.AddressTypeIPv4:
		if errs := utilvalidation.IsValidIPForLegacyField(fldPath, a, true, nil); len(errs) > 0 {
			return errs
		}
		var errs field.ErrorList
		if !netutils.IsIPv4String(a) {
			errs = append(errs, field.Invalid(listPath, a, "must be an IPv4 address"))
		}
		return append(errs, endpointIP(a, fldPath)...)
	case discoveryv1.AddressTypeIPv6:
		if errs := utilvalidation.IsValidIP(fldPath, a); len(errs) > 0 {
			return errs
		}
		var errs field.ErrorList
		if !netutils.IsIPv6String(a) {
			errs = append(errs, field.Invalid(listPath, a, "must be an IPv6 address"))
		}
		return append(errs, endpointIP(a, fldPath)...)
	case discoveryv1.AddressTypeFQDN:
		return utilvalidation.IsFullyQualifiedDomainName(fldPath, a)
	}
	return nil
}

func slicePorts(list []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(list) > maxSlicePorts {
		return field.ErrorList{field.TooMany(fldPath, len(list), maxSlicePorts)}
	}
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, port := range list {
		p := fldPath.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			errs = append(errs, dnsLabel(name, p.Child("name"))...)
		}
		if seen[name] {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		seen[name] = true
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else if !containsValue(slicePortProtocols, *port.Protocol) {
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, slicePortProtocols))
		}
		if port.AppProtocol != nil {
			errs = append(errs, qualifiedName(*port.AppProtocol, p.Child("appProtocol"))...)
		}
	}
	return errs
}

// endpointHints checks zone and node hints: at most eight of each, unique,
// zones as label values and nodes as node names.
func endpointHints(h *discoveryv1.EndpointHints, fldPath *field.Path) field.ErrorList {
	zp := fldPath.Child("forZones")
	if len(h.ForZones) > maxZoneHints {
		return field.ErrorList{field.TooMany(zp, len(h.ForZones), maxZoneHints)}
	}
	var errs field.ErrorList
	zones := map[string]bool{}
	for i, z := range h.ForZones {
		p := zp.Index(i).Child("name")
		if zones[z.Name] {
			errs = append(errs, field.Duplicate(p, z.Name))
		}
		zones[z.Name] = true
		errs = append(errs, msgs(p, z.Name, utilvalidation.IsValidLabelValue(z.Name))...)
	}
	np := fldPath.Child("forNodes")
	if len(h.ForNodes) > maxNodeHints {
		return append(errs, field.TooMany(np, len(h.ForNodes), maxNodeHints))
	}
	nodes := map[string]bool{}
	for i, n := range h.ForNodes {
		p := np.Index(i).Child("name")
		if nodes[n.Name] {
			errs = append(errs, field.Duplicate(p, n.Name))
		}
		nodes[n.Name] = true
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, n.Name, p)...)
	}
	return errs
}
