package validation

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Node validates a node on create: cluster-scoped DNS subdomain name,
// taints, capacity/allocatable quantities and pod CIDRs.
func Node(node *corev1.Node) field.ErrorList {
	errs := objectMeta(&node.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	// Upstream reports taint errors under metadata.taints.
	errs = append(errs, taints(node.Spec.Taints, field.NewPath("metadata", "taints"))...)
	errs = append(errs, nodeResources(node)...)
	return append(errs, podCIDRs(node.Spec.PodCIDRs)...)
}

// nodeResources checks capacity and allocatable quantities.
func nodeResources(node *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedResourceNames(node.Status.Capacity) {
		errs = append(errs, quantityValue(name, node.Status.Capacity[name], field.NewPath("status", "capacity", string(name)))...)
	}
	for _, name := range sortedResourceNames(node.Status.Allocatable) {
		errs = append(errs, quantityValue(name, node.Status.Allocatable[name], field.NewPath("status", "allocatable", string(name)))...)
	}
	return errs
}

// podCIDRs requires valid CIDRs, at most one per IP family.
func podCIDRs(cidrs []string) field.ErrorList {
	p := field.NewPath("spec", "podCIDRs")
	var errs field.ErrorList
	for i, c := range cidrs {
		errs = append(errs, utilvalidation.IsValidCIDRForLegacyField(p.Index(i), c, true, nil)...)
	}
	if len(errs) == 0 && len(cidrs) > 1 {
		v6 := 0
		for _, c := range cidrs {
			if containsColon(c) {
				v6++
			}
		}
		if len(cidrs) > 2 || v6 != 1 {
			errs = append(errs, field.Invalid(p, cidrs, "may specify no more than one CIDR for each IP family"))
		}
	}
	return errs
}

// containsColon reports whether s looks like an IPv6 literal.
func containsColon(s string) bool {
	for _, r := range s {
		if r == ':' {
			return true
		}
	}
	return false
}

// NodeUpdate validates a node update. podCIDRs and providerID may be set
// once but not changed; externalID is immutable.
func NodeUpdate(node, old *corev1.Node) field.ErrorList {
	errs := objectMetaUpdate(&node.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, nodeResources(node)...)
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range node.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	if len(old.Spec.PodCIDRs) > 0 {
		msg := "node updates may not change podCIDR except from \"\" to valid"
		if len(old.Spec.PodCIDRs) != len(node.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), msg))
		} else {
			for i := range old.Spec.PodCIDRs {
				if old.Spec.PodCIDRs[i] != node.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), msg))
				}
			}
		}
	}
	if old.Spec.ProviderID != "" {
		if node.Spec.ProviderID == "" {
			errs = append(errs, field.Invalid(field.NewPath("spec", "providerID"), nil, "field cannot be cleared once set"))
		} else if node.Spec.ProviderID != old.Spec.ProviderID {
			errs = append(errs, field.Invalid(field.NewPath("spec", "providerID"), nil, "field cannot be modified once set"))
		}
	}
	errs = append(errs, taints(node.Spec.Taints, field.NewPath("metadata", "taints"))...)
	if node.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

// NodeStatusUpdate validates a write to nodes/status; upstream applies the
// same rules as a node update.
func NodeStatusUpdate(node, old *corev1.Node) field.ErrorList {
	return NodeUpdate(node, old)
}
