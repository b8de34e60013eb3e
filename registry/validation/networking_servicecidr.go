package validation

import (
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// maxServiceCIDRs is how many ranges one ServiceCIDR holds: one per IP family.
const maxServiceCIDRs = 2

// ServiceCIDR validates a ServiceCIDR on create: a DNS subdomain name and one
// or two canonical CIDRs, at most one of each IP family.
func ServiceCIDR(c *networkingv1.ServiceCIDR) field.ErrorList {
	errs := objectMeta(&c.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, serviceCIDRs(c.Spec.CIDRs, field.NewPath("spec", "cidrs"))...)
}

func serviceCIDRs(cidrs []string, fldPath *field.Path) field.ErrorList {
	switch {
	case len(cidrs) == 0:
		return field.ErrorList{field.Required(fldPath, "at least one CIDR required")}
	case len(cidrs) > maxServiceCIDRs:
		return field.ErrorList{field.Invalid(fldPath, cidrs, "may only hold up to 2 values")}
	}
	var errs field.ErrorList
	for i, cidr := range cidrs {
		errs = append(errs, utilvalidation.IsValidCIDR(fldPath.Index(i), cidr)...)
	}
	if len(cidrs) == 2 {
		a, b := netutils.IPFamilyOfCIDRString(cidrs[0]), netutils.IPFamilyOfCIDRString(cidrs[1])
		if a == b && a != netutils.IPFamilyUnknown {
			errs = append(errs, field.Invalid(fldPath, cidrs, "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"))
		}
	}
	return errs
}

// ServiceCIDRUpdate validates a ServiceCIDR update. The ranges are immutable,
// except that a single-stack ServiceCIDR may gain a range of the other family
// (the upgrade of a cluster to dual stack).
func ServiceCIDRUpdate(c, old *networkingv1.ServiceCIDR) field.ErrorList {
	errs := objectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)
	fldPath := field.NewPath("spec", "cidrs")
	switch cur, prev := c.Spec.CIDRs, old.Spec.CIDRs; {
	case len(cur) == len(prev):
		for i := range prev {
			if cur[i] != prev[i] {
				errs = append(errs, field.Invalid(fldPath.Index(i), cur[i], immutableMsg))
			}
		}
	case len(prev) == 1 && len(cur) == 2:
		if cur[0] != prev[0] {
			errs = append(errs, field.Invalid(fldPath.Index(0), cur[0], immutableMsg))
		}
		errs = append(errs, serviceCIDRs(cur, fldPath)...)
	default:
		errs = append(errs, field.Invalid(fldPath, cur, immutableMsg))
	}
	return errs
}

// ServiceCIDRStatusUpdate validates a status update of a ServiceCIDR: only
// the metadata rules apply.
func ServiceCIDRStatusUpdate(c, old *networkingv1.ServiceCIDR) field.ErrorList {
	return objectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta)
}

// ipAddressName requires the name of an IPAddress to be an IP address in its
// canonical form, so that one address has exactly one object. Names cannot
// be generated.
func ipAddressName(name string, prefix bool) []string {
	var out []string
	for _, e := range utilvalidation.IsValidIP(&field.Path{}, name) {
		out = append(out, e.Detail)
	}
	return out
}

// IPAddress validates an IPAddress on create: the name is a canonical IP and
// the parent reference names the object that holds the address.
func IPAddress(ip *networkingv1.IPAddress) field.ErrorList {
	errs := objectMeta(&ip.ObjectMeta, false, ipAddressName)
	return append(errs, ipAddressParentRef(ip.Spec.ParentRef, field.NewPath("spec", "parentRef"))...)
}

func ipAddressParentRef(ref *networkingv1.ParentReference, fldPath *field.Path) field.ErrorList {
	if ref == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	// The core group (Services) is empty, so the group cannot be required.
	if ref.Group != "" {
		errs = append(errs, dnsSubdomain(ref.Group, fldPath.Child("group"))...)
	}
	segment := func(value string, required bool, p *field.Path) {
		if value == "" {
			if required {
				errs = append(errs, field.Required(p, ""))
			}
			return
		}
		errs = append(errs, msgs(p, value, content.IsPathSegmentName(value))...)
	}
	segment(ref.Resource, true, fldPath.Child("resource"))
	segment(ref.Name, true, fldPath.Child("name"))
	segment(ref.Namespace, false, fldPath.Child("namespace"))
	return errs
}

// IPAddressUpdate validates an IPAddress update: the parent reference is
// immutable.
func IPAddressUpdate(ip, old *networkingv1.IPAddress) field.ErrorList {
	errs := objectMetaUpdate(&ip.ObjectMeta, &old.ObjectMeta)
	return append(errs, immutable(ip.Spec.ParentRef, old.Spec.ParentRef, field.NewPath("spec", "parentRef"))...)
}
