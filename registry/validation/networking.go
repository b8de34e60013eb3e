package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

const (
	ingressClassAnnotation = "kubernetes.io/ingress.class"
	maxControllerLength    = 250
)

var (
	pathTypes            = []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypeImplementationSpecific), string(networkingv1.PathTypePrefix)}
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

// ingressOptions tolerates values older servers accepted and the old
// object still has.
type ingressOptions struct {
	allowInvalidSecretName   bool
	allowInvalidWildcardRule bool
}

// Ingress validates an Ingress on create. Service backend names are DNS
// labels (RelaxedServiceNameValidation is GA in 1.37).
func Ingress(ing *networkingv1.Ingress) field.ErrorList {
	errs := objectMeta(&ing.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, ingressSpec(&ing.Spec, ingressOptions{}, field.NewPath("spec"))...)
	if v, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), v, "must match `ingressClassName` when both are specified"))
	}
	return errs
}

// IngressUpdate validates an Ingress update; the spec may change freely.
func IngressUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	errs := objectMetaUpdate(&ing.ObjectMeta, &old.ObjectMeta)
	var opts ingressOptions
	for _, tls := range old.Spec.TLS {
		opts.allowInvalidSecretName = opts.allowInvalidSecretName || len(tlsSecretName(tls.SecretName)) > 0
	}
	for _, r := range old.Spec.Rules {
		if strings.Contains(r.Host, "*") && r.HTTP != nil && len(httpRule(r.HTTP, ingressOptions{}, field.NewPath("x"))) > 0 {
			opts.allowInvalidWildcardRule = true
		}
	}
	errs = append(errs, objectMeta(&ing.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)...)
	return append(errs, ingressSpec(&ing.Spec, opts, field.NewPath("spec"))...)
}

// IngressStatusUpdate validates a write to an Ingress's load balancer status.
func IngressStatusUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	errs := objectMetaUpdate(&ing.ObjectMeta, &old.ObjectMeta)
	var oldIPs []string
	for _, i := range old.Status.LoadBalancer.Ingress {
		if i.IP != "" {
			oldIPs = append(oldIPs, i.IP)
		}
	}
	p := field.NewPath("status", "loadBalancer", "ingress")
	for i, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.IP != "" {
			errs = append(errs, utilvalidation.IsValidIPForLegacyField(p.Index(i).Child("ip"), lb.IP, true, oldIPs)...)
		}
		if lb.Hostname != "" {
			errs = append(errs, dnsSubdomain(lb.Hostname, p.Index(i).Child("hostname"))...)
			if netutils.ParseIPSloppy(lb.Hostname) != nil {
				errs = append(errs, field.Invalid(p.Index(i).Child("hostname"), lb.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

func ingressSpec(spec *networkingv1.IngressSpec, opts ingressOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(fldPath, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, ingressBackend(spec.DefaultBackend, fldPath.Child("defaultBackend"))...)
	}
	for i, r := range spec.Rules {
		rp := fldPath.Child("rules").Index(i)
		wildcard := false
		if r.Host != "" {
			hp := rp.Child("host")
			if netutils.ParseIPSloppy(r.Host) != nil {
				errs = append(errs, field.Invalid(hp, r.Host, "must be a DNS name, not an IP address"))
			}
			if strings.Contains(r.Host, "*") {
				errs = append(errs, msgs(hp, r.Host, utilvalidation.IsWildcardDNS1123Subdomain(r.Host))...)
				wildcard = true
			} else {
				errs = append(errs, dnsSubdomain(r.Host, hp)...)
			}
		}
		if (!wildcard || !opts.allowInvalidWildcardRule) && r.HTTP != nil {
			errs = append(errs, httpRule(r.HTTP, opts, rp.Child("http"))...)
		}
	}
	for i, tls := range spec.TLS {
		tp := fldPath.Child("tls").Index(i)
		for j, h := range tls.Hosts {
			if strings.Contains(h, "*") {
				errs = append(errs, msgs(tp.Child("hosts").Index(j), h, utilvalidation.IsWildcardDNS1123Subdomain(h))...)
			} else {
				errs = append(errs, dnsSubdomain(h, tp.Child("hosts").Index(j))...)
			}
		}
		if !opts.allowInvalidSecretName {
			errs = append(errs, msgs(tp.Child("secretName"), tls.SecretName, tlsSecretName(tls.SecretName))...)
		}
	}
	if spec.IngressClassName != nil {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *spec.IngressClassName, fldPath.Child("ingressClassName"))...)
	}
	return errs
}

func tlsSecretName(name string) []string {
	if name == "" {
		return nil
	}
	return apimachineryvalidation.NameIsDNSSubdomain(name, false)
}

func httpRule(h *networkingv1.HTTPIngressRuleValue, opts ingressOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(h.Paths) == 0 {
		errs = append(errs, field.Required(fldPath.Child("paths"), ""))
	}
	for i, p := range h.Paths {
		pp := fldPath.Child("paths").Index(i)
		if p.PathType == nil {
			errs = append(errs, field.Required(pp.Child("pathType"), "pathType must be specified"))
			continue
		}
		switch *p.PathType {
		case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
			if !strings.HasPrefix(p.Path, "/") {
				errs = append(errs, field.Invalid(pp.Child("path"), p.Path, "must be an absolute path"))
			}
			for _, seq := range invalidPathSequences {
				if strings.Contains(p.Path, seq) {
					errs = append(errs, field.Invalid(pp.Child("path"), p.Path, fmt.Sprintf("must not contain '%s'", seq)))
				}
			}
			for _, suf := range invalidPathSuffixes {
				if strings.HasSuffix(p.Path, suf) {
					errs = append(errs, field.Invalid(pp.Child("path"), p.Path, fmt.Sprintf("cannot end with '%s'", suf)))
				}
			}
		case networkingv1.PathTypeImplementationSpecific:
			if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
				errs = append(errs, field.Invalid(pp.Child("path"), p.Path, "must be an absolute path"))
			}
		default:
			errs = append(errs, field.NotSupported(pp.Child("pathType"), *p.PathType, pathTypes))
		}
		errs = append(errs, ingressBackend(&p.Backend, pp.Child("backend"))...)
	}
	return errs
}

// ingressBackend requires exactly one of a service (name plus port name or
// number) and a typed resource reference.
func ingressBackend(b *networkingv1.IngressBackend, fldPath *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return typedLocalRef(b.Resource, fldPath.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(fldPath, "", "resource or service backend is required")}
	}
	var errs field.ErrorList
	s := b.Service
	sp := fldPath.Child("service")
	if s.Name == "" {
		errs = append(errs, field.Required(sp.Child("name"), ""))
	} else {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSLabel, s.Name, sp.Child("name"))...)
	}
	switch hasName, hasNumber := s.Port.Name != "", s.Port.Number != 0; {
	case hasName && hasNumber:
		errs = append(errs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
	case hasName:
		errs = append(errs, msgs(sp.Child("port", "name"), s.Port.Name, isPortName(s.Port.Name))...)
	case hasNumber:
		errs = append(errs, portNum(s.Port.Number, sp.Child("port", "number"))...)
	default:
		errs = append(errs, field.Required(fldPath, "port name or number is required"))
	}
	return errs
}

func typedLocalRef(r *corev1.TypedLocalObjectReference, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.APIGroup != nil {
		errs = append(errs, dnsSubdomain(*r.APIGroup, fldPath.Child("apiGroup"))...)
	}
	return append(errs, kindAndName(r.Kind, r.Name, fldPath)...)
}

// kindAndName requires kind and name, each usable as a path segment.
func kindAndName(kind, name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct{ field, value string }{{"kind", kind}, {"name", name}} {
		if f.value == "" {
			errs = append(errs, field.Required(fldPath.Child(f.field), ""))
		} else {
			errs = append(errs, msgs(fldPath.Child(f.field), f.value, content.IsPathSegmentName(f.value))...)
		}
	}
	return errs
}

// IngressClass validates an IngressClass on create.
func IngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	errs := objectMeta(&ic.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	p := field.NewPath("spec")
	if len(ic.Spec.Controller) > maxControllerLength {
		errs = append(errs, field.TooLong(p.Child("controller"), "", maxControllerLength))
	}
	errs = append(errs, utilvalidation.IsDomainPrefixedPath(p.Child("controller"), ic.Spec.Controller)...)
	return append(errs, ingressClassParams(ic.Spec.Parameters, p.Child("parameters"))...)
}

// IngressClassUpdate validates an IngressClass update; the controller is
// immutable.
func IngressClassUpdate(ic, old *networkingv1.IngressClass) field.ErrorList {
	errs := objectMetaUpdate(&ic.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, immutable(ic.Spec.Controller, old.Spec.Controller, field.NewPath("spec", "controller"))...)
	return append(errs, IngressClass(ic)...)
}

func ingressClassParams(p *networkingv1.IngressClassParametersReference, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	if p.APIGroup != nil {
		errs = append(errs, dnsSubdomain(*p.APIGroup, fldPath.Child("apiGroup"))...)
	}
	errs = append(errs, kindAndName(p.Kind, p.Name, fldPath)...)
	if p.Scope == nil {
		return append(errs, field.Required(fldPath.Child("scope"), ""))
	}
	switch *p.Scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if p.Namespace == nil {
			errs = append(errs, field.Required(fldPath.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			errs = append(errs, objectName(apimachineryvalidation.ValidateNamespaceName, *p.Namespace, fldPath.Child("namespace"))...)
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster:
		if p.Namespace != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("scope"), *p.Scope, []string{networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}))
	}
	return errs
}
