package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxClientIPAffinitySeconds is the longest ClientIP session affinity.
const maxClientIPAffinitySeconds = 86400

// Service validates a service on create. Names are DNS labels (relaxed
// service names are GA in 1.37).
func Service(svc *corev1.Service) field.ErrorList {
	errs := objectMeta(&svc.ObjectMeta, true, apimachineryvalidation.NameIsDNSLabel)
	return append(errs, serviceSpec(svc, nil)...)
}

// ServiceUpdate validates a service update: clusterIPs and ipFamilies may
// not change once set (except to, from or on ExternalName, and dual-stack
// upgrades/downgrades), loadBalancerClass and healthCheckNodePort are
// immutable, and the new service must be valid.
func ServiceUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := objectMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, clusterIPsUpdate(svc, old)...)
	errs = append(errs, ipFamiliesUpdate(svc, old)...)
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && old.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		((svc.Spec.LoadBalancerClass == nil) != (old.Spec.LoadBalancerClass == nil) || ptrString(svc.Spec.LoadBalancerClass) != ptrString(old.Spec.LoadBalancerClass)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "loadBalancerClass"), svc.Spec.LoadBalancerClass, "may not change once set"))
	}
	if needsHealthCheck(old) && needsHealthCheck(svc) && svc.Spec.HealthCheckNodePort != old.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), "field is immutable"))
	}
	return append(errs, serviceSpec(svc, old)...)
}

// ServiceStatusUpdate validates a write to services/status: metadata rules
// and load balancer ingress entries.
func ServiceStatusUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := objectMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta)
	ingPath := field.NewPath("status", "loadBalancer", "ingress")
	if len(svc.Status.LoadBalancer.Ingress) > 0 && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(ingPath, "may only be used when `spec.type` is 'LoadBalancer'"))
	}
	for i, ing := range svc.Status.LoadBalancer.Ingress {
		p := ingPath.Index(i)
		if ing.IP != "" {
			errs = append(errs, utilvalidation.IsValidIPForLegacyField(p.Child("ip"), ing.IP, true, nil)...)
		}
		if ing.IPMode != nil && ing.IP == "" {
			errs = append(errs, field.Forbidden(p.Child("ipMode"), "may not be specified when `ip` is not set"))
		} else if ing.IPMode != nil && *ing.IPMode != corev1.LoadBalancerIPModeVIP && *ing.IPMode != corev1.LoadBalancerIPModeProxy {
			errs = append(errs, field.NotSupported(p.Child("ipMode"), ing.IPMode, []corev1.LoadBalancerIPMode{corev1.LoadBalancerIPModeProxy, corev1.LoadBalancerIPModeVIP}))
		}
		if ing.Hostname != "" {
			errs = append(errs, dnsSubdomain(ing.Hostname, p.Child("hostname"))...)
			if len(utilvalidation.IsValidIP(p, ing.Hostname)) == 0 {
				errs = append(errs, field.Invalid(p.Child("hostname"), ing.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// isHeadless reports whether clusterIPs is exactly ["None"].
func isHeadless(svc *corev1.Service) bool {
	return len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

// needsHealthCheck is true for LoadBalancer services with Local traffic.
func needsHealthCheck(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// serviceSpec validates the spec; old is nil on create.
func serviceSpec(svc, old *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	sp := field.NewPath("spec")
	if len(spec.Ports) == 0 && !isHeadless(svc) && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(sp.Child("ports"), ""))
	}
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if isHeadless(svc) {
			errs = append(errs, field.Invalid(sp.Child("clusterIPs").Index(0), spec.ClusterIPs[0], fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(sp.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(sp.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(sp.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			errs = append(errs, dnsSubdomain(cname, sp.Child("externalName"))...)
		} else {
			errs = append(errs, field.Required(sp.Child("externalName"), ""))
		}
	}
	errs = append(errs, servicePorts(svc, sp.Child("ports"))...)
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, sp.Child("selector"))...)
	}
	errs = append(errs, oneOf(spec.SessionAffinity, []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}, sp.Child("sessionAffinity"))...)
	errs = append(errs, sessionAffinityConfig(spec, sp.Child("sessionAffinityConfig"))...)
	errs = append(errs, clusterIPs(svc, old)...)
	var oldExternal []string
	if old != nil {
		oldExternal = old.Spec.ExternalIPs
	}
	for i, ip := range spec.ExternalIPs {
		p := sp.Child("externalIPs").Index(i)
		if e := utilvalidation.IsValidIPForLegacyField(p, ip, true, oldExternal); len(e) > 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, endpointIP(ip, p)...)
		}
	}
	errs = append(errs, oneOf(spec.Type, []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort}, sp.Child("type"))...)
	return append(errs, serviceTypeRules(svc, old, sp)...)
}

// servicePorts checks names (required and unique when there are several),
// numbers, protocols, target ports, and duplicate port/nodePort pairs.
func servicePorts(svc *corev1.Service, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	type key struct {
		proto corev1.Protocol
		port  int32
	}
	ports, nodePorts := map[key]bool{}, map[key]bool{}
	for i, p := range svc.Spec.Ports {
		idx := fldPath.Index(i)
		if len(svc.Spec.Ports) > 1 && p.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		} else if p.Name != "" {
			errs = append(errs, dnsLabel(p.Name, idx.Child("name"))...)
			if names[p.Name] {
				errs = append(errs, field.Duplicate(idx.Child("name"), p.Name))
			}
			names[p.Name] = true
		}
		errs = append(errs, portNum(p.Port, idx.Child("port"))...)
		errs = append(errs, protocol(p.Protocol, idx.Child("protocol"))...)
		errs = append(errs, portNumOrName(p.TargetPort, idx.Child("targetPort"))...)
		if p.AppProtocol != nil {
			errs = append(errs, qualifiedName(*p.AppProtocol, idx.Child("appProtocol"))...)
		}
		if svc.Spec.Type == corev1.ServiceTypeClusterIP && p.NodePort != 0 {
			errs = append(errs, field.Forbidden(idx.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
		}
	}
	for i, p := range svc.Spec.Ports {
		if p.NodePort == 0 {
			continue
		}
		k := key{p.Protocol, p.NodePort}
		if nodePorts[k] {
			errs = append(errs, field.Duplicate(fldPath.Index(i).Child("nodePort"), p.NodePort))
		}
		nodePorts[k] = true
	}
	for i, p := range svc.Spec.Ports {
		k := key{p.Protocol, p.Port}
		if ports[k] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), corev1.ServicePort{Protocol: p.Protocol, Port: p.Port}))
		}
		ports[k] = true
	}
	return errs
}

// sessionAffinityConfig requires a ClientIP timeout for ClientIP affinity
// and forbids the config for None.
func sessionAffinityConfig(spec *corev1.ServiceSpec, fldPath *field.Path) field.ErrorList {
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityClientIP:
		when := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
		c := spec.SessionAffinityConfig
		switch {
		case c == nil:
			return field.ErrorList{field.Required(fldPath, when)}
		case c.ClientIP == nil:
			return field.ErrorList{field.Required(fldPath.Child("clientIP"), when)}
		case c.ClientIP.TimeoutSeconds == nil:
			return field.ErrorList{field.Required(fldPath.Child("clientIP", "timeoutSeconds"), when)}
		case *c.ClientIP.TimeoutSeconds <= 0 || *c.ClientIP.TimeoutSeconds > maxClientIPAffinitySeconds:
			return field.ErrorList{field.Invalid(fldPath.Child("clientIP", "timeoutSeconds"), c.ClientIP.TimeoutSeconds,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds))}
		}
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			return field.ErrorList{field.Forbidden(fldPath, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone))}
		}
	}
	return nil
}

// ptrString dereferences an optional string.
func ptrString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
