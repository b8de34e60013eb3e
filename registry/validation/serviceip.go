package validation

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// clusterIPs checks clusterIP/clusterIPs agree, IPs are valid and at most
// one per family, ipFamilies and ipFamilyPolicy values, and that IPs match
// their declared families. ExternalName services are checked elsewhere.
func clusterIPs(svc, old *corev1.Service) field.ErrorList {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	sp := field.NewPath("spec")
	ipsPath, famPath := sp.Child("clusterIPs"), sp.Child("ipFamilies")
	if spec.ClusterIP != "" {
		if len(spec.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if spec.ClusterIPs[0] != spec.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(spec.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	families := []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	seen := map[corev1.IPFamily]bool{}
	for i, f := range spec.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			errs = append(errs, field.NotSupported(famPath.Index(i), f, families))
		}
		if seen[f] {
			errs = append(errs, field.Duplicate(famPath.Index(i), f))
		}
		seen[f] = true
	}
	if p := spec.IPFamilyPolicy; p != nil && *p != corev1.IPFamilyPolicySingleStack && *p != corev1.IPFamilyPolicyPreferDualStack && *p != corev1.IPFamilyPolicyRequireDualStack {
		errs = append(errs, field.NotSupported(sp.Child("ipFamilyPolicy"), spec.IPFamilyPolicy, []corev1.IPFamilyPolicy{
			corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack,
		}))
	}
	var oldIPs []string
	if old != nil {
		oldIPs = old.Spec.ClusterIPs
	}
	invalid := false
	for i, ip := range spec.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				invalid = true
				errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		e := utilvalidation.IsValidIPForLegacyField(ipsPath.Index(i), ip, true, oldIPs)
		invalid = invalid || len(e) > 0
		errs = append(errs, e...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may only hold up to 2 values"))
	}
	if invalid {
		return errs
	}
	if len(spec.ClusterIPs) == 2 && isIPv6(spec.ClusterIPs[0]) == isIPv6(spec.ClusterIPs[1]) {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may specify no more than one IP for each IP family"))
	}
	if !isHeadless(svc) {
		for i, ip := range spec.ClusterIPs {
			if i >= len(spec.IPFamilies) {
				break
			}
			if spec.IPFamilies[i] == corev1.IPv4Protocol && isIPv6(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if spec.IPFamilies[i] == corev1.IPv6Protocol && !isIPv6(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

// isIPv6 reports whether ip parses as an IPv6 address.
func isIPv6(ip string) bool {
	p := net.ParseIP(ip)
	return p != nil && p.To4() == nil
}

// clusterIPsUpdate keeps allocated cluster IPs stable: the primary may never
// change, and a secondary may only be released with SingleStack.
func clusterIPsUpdate(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if isHeadless(svc) && isHeadless(old) {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "clusterIPs")
	n, o := svc.Spec.ClusterIPs, old.Spec.ClusterIPs
	switch {
	case len(o) == len(n):
		for i := range o {
			if o[i] != n[i] {
				errs = append(errs, field.Invalid(p.Index(i), n, "may not change once set"))
			}
		}
	case len(o) > len(n):
		if len(n) == 0 {
			errs = append(errs, field.Invalid(p.Index(0), n, "primary clusterIP can not be unset"))
		}
		if len(o) > 0 && len(n) > 0 && n[0] != o[0] {
			errs = append(errs, field.Invalid(p.Index(0), n, "may not change once set"))
		}
		if len(n) == 1 && (svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(o) > 0 && n[0] != o[0] {
			errs = append(errs, field.Invalid(p.Index(0), n, "may not change once set"))
		}
	}
	return errs
}

// ipFamiliesUpdate mirrors clusterIPsUpdate for ipFamilies.
func ipFamiliesUpdate(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if isHeadless(svc) || isHeadless(old) {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("spec", "ipFamilies")
	n, o := svc.Spec.IPFamilies, old.Spec.IPFamilies
	switch {
	case len(o) == len(n):
		for i := range o {
			if o[i] != n[i] {
				errs = append(errs, field.Invalid(p.Index(0), n, "may not change once set"))
			}
		}
	case len(o) > len(n):
		if len(svc.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Invalid(p.Index(0), n, "primary ipFamily can not be unset"))
		}
		if len(n) > 0 && n[0] != o[0] {
			errs = append(errs, field.Invalid(p.Index(0), svc.Spec.ClusterIPs, "may not change once set"))
		}
		if len(n) == 1 && (svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(o) > 0 && len(n) > 0 && n[0] != o[0] {
			errs = append(errs, field.Invalid(p.Index(0), svc.Spec.ClusterIPs, "may not change once set"))
		}
	}
	return errs
}

// serviceTypeRules checks the fields that only make sense for some service
// types: source ranges, node port allocation, load balancer class and the
// traffic policies.
func serviceTypeRules(svc, old *corev1.Service, sp *field.Path) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	lb := spec.Type == corev1.ServiceTypeLoadBalancer
	if len(spec.LoadBalancerSourceRanges) > 0 {
		p := sp.Child("LoadBalancerSourceRanges")
		if !lb {
			errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		var oldRanges []string
		if old != nil {
			for _, r := range old.Spec.LoadBalancerSourceRanges {
				oldRanges = append(oldRanges, strings.TrimSpace(r))
			}
		}
		for i, r := range spec.LoadBalancerSourceRanges {
			errs = append(errs, utilvalidation.IsValidCIDRForLegacyField(p.Index(i), strings.TrimSpace(r), true, oldRanges)...)
		}
	}
	if spec.AllocateLoadBalancerNodePorts != nil && !lb {
		errs = append(errs, field.Forbidden(sp.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if lb && spec.AllocateLoadBalancerNodePorts == nil {
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	if spec.LoadBalancerClass != nil {
		if lb {
			errs = append(errs, qualifiedName(*spec.LoadBalancerClass, sp.Child("loadBalancerClass"))...)
		} else {
			errs = append(errs, field.Forbidden(sp.Child("loadBalancerClass"), "may only be used when `type` is 'LoadBalancer'"))
		}
	}
	external := lb || spec.Type == corev1.ServiceTypeNodePort || (spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	etp := sp.Child("externalTrafficPolicy")
	if !external && spec.ExternalTrafficPolicy != "" {
		errs = append(errs, field.Invalid(etp, spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
	} else if external {
		errs = append(errs, oneOf(spec.ExternalTrafficPolicy, []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}, etp)...)
	}
	hc := sp.Child("healthCheckNodePort")
	if !needsHealthCheck(svc) && spec.HealthCheckNodePort != 0 {
		errs = append(errs, field.Invalid(hc, spec.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
	} else if needsHealthCheck(svc) {
		if spec.HealthCheckNodePort == 0 {
			errs = append(errs, field.Required(hc, ""))
		} else {
			errs = append(errs, portNum(spec.HealthCheckNodePort, hc)...)
		}
	}
	itp := sp.Child("internalTrafficPolicy")
	if spec.InternalTrafficPolicy == nil {
		if spec.Type == corev1.ServiceTypeNodePort || lb || spec.Type == corev1.ServiceTypeClusterIP {
			errs = append(errs, field.Required(itp, ""))
		}
	} else if p := *spec.InternalTrafficPolicy; p != corev1.ServiceInternalTrafficPolicyCluster && p != corev1.ServiceInternalTrafficPolicyLocal {
		errs = append(errs, field.NotSupported(itp, p, []corev1.ServiceInternalTrafficPolicy{corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}))
	}
	if td := spec.TrafficDistribution; td != nil {
		allowed := []string{corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode}
		if !containsString(allowed, *td) {
			errs = append(errs, field.NotSupported(sp.Child("trafficDistribution"), *td, allowed))
		}
	}
	return errs
}

// endpointIP rejects addresses that can never be a service backend or
// external IP: unspecified, loopback and link-local.
func endpointIP(ip string, fldPath *field.Path) field.ErrorList {
	p := net.ParseIP(strings.TrimSpace(ip))
	if p == nil {
		return field.ErrorList{field.Invalid(fldPath, ip, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if p.IsUnspecified() {
		errs = append(errs, field.Invalid(fldPath, ip, fmt.Sprintf("may not be unspecified (%v)", ip)))
	}
	if p.IsLoopback() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if p.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if p.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}
