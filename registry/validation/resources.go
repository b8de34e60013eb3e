package validation

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// standardResources are the unprefixed resource names the system knows.
var standardResources = map[corev1.ResourceName]bool{
	corev1.ResourceCPU: true, corev1.ResourceMemory: true, corev1.ResourceEphemeralStorage: true,
	corev1.ResourceRequestsCPU: true, corev1.ResourceRequestsMemory: true, corev1.ResourceRequestsEphemeralStorage: true,
	corev1.ResourceLimitsCPU: true, corev1.ResourceLimitsMemory: true, corev1.ResourceLimitsEphemeralStorage: true,
	corev1.ResourcePods: true, corev1.ResourceQuotas: true, corev1.ResourceServices: true,
	corev1.ResourceReplicationControllers: true, corev1.ResourceSecrets: true, corev1.ResourceConfigMaps: true,
	corev1.ResourcePersistentVolumeClaims: true, corev1.ResourceStorage: true, corev1.ResourceRequestsStorage: true,
	corev1.ResourceServicesNodePorts: true, corev1.ResourceServicesLoadBalancers: true,
}

// integerResources are counted in whole units.
var integerResources = map[corev1.ResourceName]bool{
	corev1.ResourcePods: true, corev1.ResourceQuotas: true, corev1.ResourceServices: true,
	corev1.ResourceReplicationControllers: true, corev1.ResourceSecrets: true, corev1.ResourceConfigMaps: true,
	corev1.ResourcePersistentVolumeClaims: true, corev1.ResourceServicesNodePorts: true,
	corev1.ResourceServicesLoadBalancers: true,
}

// nonQuotaResources are standard resources a ResourceQuota may not name.
var nonQuotaResources = map[corev1.ResourceName]bool{corev1.ResourceStorage: true}

// containerResources are the unprefixed names a container may request.
var containerResources = map[corev1.ResourceName]bool{
	corev1.ResourceCPU: true, corev1.ResourceMemory: true, corev1.ResourceEphemeralStorage: true,
}

// isHugePages reports whether name is hugepages-<size>.
func isHugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// isQuotaHugePages also accepts requests.hugepages-<size>.
func isQuotaHugePages(name corev1.ResourceName) bool {
	return isHugePages(name) || strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix)
}

// isNative reports whether name is unprefixed or in a kubernetes.io domain.
func isNative(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix)
}

// isExtended reports whether name is a valid extended (vendor) resource.
func isExtended(name corev1.ResourceName) bool {
	if isNative(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(utilvalidation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// overcommitAllowed is false for extended resources and hugepages, whose
// requests must equal their limits.
func overcommitAllowed(name corev1.ResourceName) bool {
	return isNative(name) && !isHugePages(name)
}

// resourceName checks a qualified name that, when unprefixed, is standard.
func resourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	if errs := qualifiedName(string(name), fldPath); len(errs) > 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") && !standardResources[name] && !isQuotaHugePages(name) {
		return field.ErrorList{field.Invalid(fldPath, name, "must be a standard resource type or fully qualified")}
	}
	return nil
}

// containerResourceName checks a name usable in container requests/limits.
func containerResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	errs := resourceName(name, fldPath)
	if !strings.Contains(string(name), "/") {
		if !containerResources[name] && !isHugePages(name) {
			return append(errs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
	} else if !isNative(name) && !isExtended(name) {
		return append(errs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// quotaResourceName checks a name usable in a ResourceQuota.
func quotaResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	errs := resourceName(name, fldPath)
	if !strings.Contains(string(name), "/") && (nonQuotaResources[name] || (!standardResources[name] && !isQuotaHugePages(name))) {
		return append(errs, field.Invalid(fldPath, name, "must be a standard resource for quota"))
	}
	return errs
}

// quantityValue rejects negative amounts and fractions of integer resources.
func quantityValue(name corev1.ResourceName, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	errs := nonNegativeQuantity(q, fldPath)
	if (integerResources[name] || isExtended(name)) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fldPath, q, notIntegerMsg))
	}
	return errs
}

// hugePagesDivisible reports whether q is a whole number of pages.
func hugePagesDivisible(name corev1.ResourceName, q resource.Quantity) bool {
	size, err := resource.ParseQuantity(strings.TrimPrefix(string(name), corev1.ResourceHugePagesPrefix))
	if err != nil || size.Sign() <= 0 || size.MilliValue()%1000 != 0 {
		return false
	}
	return q.Value()%size.Value() == 0
}

// resourceRequirements validates container (or overhead) requests and limits:
// names, quantities, requests <= limits, hugepages rules, claim references.
func resourceRequirements(req *corev1.ResourceRequirements, podClaims map[string]bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	hasCPUOrMemory, hasHugePages := false, false
	check := func(name corev1.ResourceName, q resource.Quantity, p *field.Path) {
		errs = append(errs, containerResourceName(name, p)...)
		errs = append(errs, quantityValue(name, q, p)...)
		if isHugePages(name) {
			hasHugePages = true
			if !hugePagesDivisible(name, q) {
				errs = append(errs, field.Invalid(p, q.String(), fmt.Sprintf("%s is not positive integer multiple of %s", q.String(), name)))
			}
		}
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
			hasCPUOrMemory = true
		}
	}
	for _, name := range sortedResourceNames(req.Limits) {
		check(name, req.Limits[name], limPath.Key(string(name)))
	}
	for _, name := range sortedResourceNames(req.Requests) {
		q := req.Requests[name]
		check(name, q, reqPath.Key(string(name)))
		limit, ok := req.Limits[name]
		switch {
		case ok && q.Cmp(limit) != 0 && !overcommitAllowed(name):
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case ok && q.Cmp(limit) > 0:
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		case !ok && !overcommitAllowed(name):
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	if hasHugePages && !hasCPUOrMemory {
		errs = append(errs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	return append(errs, claimRefs(req.Claims, podClaims, fldPath.Child("claims"))...)
}

// claimRefs checks container resource claims refer to pod resource claims.
func claimRefs(claims []corev1.ResourceClaim, podClaims map[string]bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, c := range claims {
		idx := fldPath.Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(idx, ""))
			continue
		}
		key := c.Name
		if c.Request != "" {
			errs = append(errs, dnsLabel(c.Request, idx.Child("request"))...)
			key += "/" + c.Request
		}
		if seen[c.Name] || seen[key] {
			errs = append(errs, field.Duplicate(idx, key))
		}
		seen[key] = true
		if !podClaims[c.Name] {
			e := field.NotFound(idx, c.Name)
			e.Detail = "must be one of the names in pod.spec.resourceClaims"
			errs = append(errs, e)
		}
	}
	return errs
}

// sortedResourceNames returns the keys of list in order, so that errors come
// out deterministically.
func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for n := range list {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
