package validation

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// NetworkPolicy validates a NetworkPolicy on create.
func NetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	errs := objectMeta(&np.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, networkPolicySpec(&np.Spec, metav1validation.LabelSelectorValidationOptions{}, nil, field.NewPath("spec"))...)
}

// NetworkPolicyUpdate validates a NetworkPolicy update. CIDRs the old
// object already had, and invalid selector values when its podSelector
// was already invalid, stay allowed.
func NetworkPolicyUpdate(np, old *networkingv1.NetworkPolicy) field.ErrorList {
	var oldCIDRs []string
	collect := func(peers []networkingv1.NetworkPolicyPeer) {
		for _, p := range peers {
			if p.IPBlock != nil {
				oldCIDRs = append(oldCIDRs, p.IPBlock.CIDR)
				oldCIDRs = append(oldCIDRs, p.IPBlock.Except...)
			}
		}
	}
	for _, r := range old.Spec.Ingress {
		collect(r.From)
	}
	for _, r := range old.Spec.Egress {
		collect(r.To)
	}
	opts := metav1validation.LabelSelectorValidationOptions{}
	opts.AllowInvalidLabelValueInSelector = len(metav1validation.ValidateLabelSelector(&old.Spec.PodSelector, opts, nil)) > 0
	errs := objectMetaUpdate(&np.ObjectMeta, &old.ObjectMeta)
	return append(errs, networkPolicySpec(&np.Spec, opts, oldCIDRs, field.NewPath("spec"))...)
}

func networkPolicySpec(spec *networkingv1.NetworkPolicySpec, opts metav1validation.LabelSelectorValidationOptions, oldCIDRs []string, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(&spec.PodSelector, opts, fldPath.Child("podSelector"))
	for i, r := range spec.Ingress {
		rp := fldPath.Child("ingress").Index(i)
		for j := range r.Ports {
			errs = append(errs, networkPolicyPort(&r.Ports[j], rp.Child("ports").Index(j))...)
		}
		for j := range r.From {
			errs = append(errs, networkPolicyPeer(&r.From[j], opts, oldCIDRs, rp.Child("from").Index(j))...)
		}
	}
	for i, r := range spec.Egress {
		rp := fldPath.Child("egress").Index(i)
		for j := range r.Ports {
			errs = append(errs, networkPolicyPort(&r.Ports[j], rp.Child("ports").Index(j))...)
		}
		for j := range r.To {
			errs = append(errs, networkPolicyPeer(&r.To[j], opts, oldCIDRs, rp.Child("to").Index(j))...)
		}
	}
	allowed := []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
	if len(spec.PolicyTypes) > len(allowed) {
		return append(errs, field.Invalid(fldPath.Child("policyTypes"), &spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(fldPath.Child("policyTypes").Index(i), t, allowed))
		}
	}
	return errs
}

func networkPolicyPort(port *networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p := port.Protocol; p != nil && *p != corev1.ProtocolTCP && *p != corev1.ProtocolUDP && *p != corev1.ProtocolSCTP {
		errs = append(errs, field.NotSupported(fldPath.Child("protocol"), *p, []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}))
	}
	ep := fldPath.Child("endPort")
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(ep, *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		errs = append(errs, portNum(port.Port.IntVal, fldPath.Child("port"))...)
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(ep, *port.EndPort, "must be greater than or equal to `port`"))
			}
			errs = append(errs, portNum(*port.EndPort, ep)...)
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(ep, *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		errs = append(errs, msgs(fldPath.Child("port"), port.Port.StrVal, isPortName(port.Port.StrVal))...)
	}
	return errs
}

func networkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, opts metav1validation.LabelSelectorValidationOptions, oldCIDRs []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts, fldPath.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts, fldPath.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, ipBlock(peer.IPBlock, oldCIDRs, fldPath.Child("ipBlock"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a peer"))
	} else if n > 1 && peer.IPBlock != nil {
		errs = append(errs, field.Forbidden(fldPath, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// ipBlock checks the CIDR and that each exception is a strict subset.
func ipBlock(b *networkingv1.IPBlock, oldCIDRs []string, fldPath *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(fldPath.Child("cidr"), "")}
	}
	errs := utilvalidation.IsValidCIDRForLegacyField(fldPath.Child("cidr"), b.CIDR, true, oldCIDRs)
	_, cidr, err := netutils.ParseCIDRSloppy(b.CIDR)
	if err != nil {
		return errs
	}
	for i, e := range b.Except {
		p := fldPath.Child("except").Index(i)
		errs = append(errs, utilvalidation.IsValidCIDRForLegacyField(p, e, true, oldCIDRs)...)
		_, except, err := netutils.ParseCIDRSloppy(e)
		if err != nil {
			continue
		}
		cidrLen, _ := cidr.Mask.Size()
		exceptLen, _ := except.Mask.Size()
		if !cidr.Contains(except.IP) || cidrLen >= exceptLen {
			errs = append(errs, field.Invalid(p, e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
