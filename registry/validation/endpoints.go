package validation

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Endpoints validates Endpoints on create: every subset has addresses,
// addresses are usable IPs, and ports are named when there are several.
func Endpoints(ep *corev1.Endpoints) field.ErrorList {
	errs := objectMeta(&ep.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, endpointSubsets(ep.Subsets, field.NewPath("subsets"))...)
}

// EndpointsUpdate validates an Endpoints update. Unchanged subsets are not
// re-validated, so data accepted by older servers stays acceptable.
func EndpointsUpdate(ep, old *corev1.Endpoints) field.ErrorList {
	errs := objectMetaUpdate(&ep.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, objectMeta(&ep.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)...)
	if sub := endpointSubsets(ep.Subsets, field.NewPath("subsets")); len(sub) > 0 && !apiequality.Semantic.DeepEqual(ep.Subsets, old.Subsets) {
		errs = append(errs, sub...)
	}
	return errs
}

// endpointSubsets validates each subset's addresses and ports.
func endpointSubsets(subsets []corev1.EndpointSubset, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range subsets {
		ss := &subsets[i]
		p := fldPath.Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, endpointAddress(&ss.Addresses[j], p.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, endpointAddress(&ss.NotReadyAddresses[j], p.Child("notReadyAddresses").Index(j))...)
		}
		for j, port := range ss.Ports {
			pp := p.Child("ports").Index(j)
			if len(ss.Ports) > 1 && port.Name == "" {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			} else if port.Name != "" {
				errs = append(errs, dnsLabel(port.Name, pp.Child("name"))...)
			}
			errs = append(errs, portNum(port.Port, pp.Child("port"))...)
			errs = append(errs, protocol(port.Protocol, pp.Child("protocol"))...)
			if port.AppProtocol != nil {
				errs = append(errs, qualifiedName(*port.AppProtocol, pp.Child("appProtocol"))...)
			}
		}
	}
	return errs
}

// endpointAddress checks the IP, optional hostname and node name.
func endpointAddress(a *corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	errs := utilvalidation.IsValidIPForLegacyField(fldPath.Child("ip"), a.IP, true, nil)
	if a.Hostname != "" {
		errs = append(errs, dnsLabel(a.Hostname, fldPath.Child("hostname"))...)
	}
	if a.NodeName != nil {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *a.NodeName, fldPath.Child("nodeName"))...)
	}
	return append(errs, endpointIP(a.IP, fldPath.Child("ip"))...)
}
