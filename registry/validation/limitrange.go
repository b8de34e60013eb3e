package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// LimitRange validates a LimitRange on create: known, non-repeated limit
// types, resource names, and min <= defaultRequest <= default <= max with
// sane limit/request ratios.
func LimitRange(lr *corev1.LimitRange) field.ErrorList {
	errs := objectMeta(&lr.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	types := map[corev1.LimitType]bool{}
	for i := range lr.Spec.Limits {
		errs = append(errs, limitRangeItem(&lr.Spec.Limits[i], types, field.NewPath("spec", "limits").Index(i))...)
	}
	return errs
}

// LimitRangeUpdate validates a LimitRange update.
func LimitRangeUpdate(lr, old *corev1.LimitRange) field.ErrorList {
	return append(objectMetaUpdate(&lr.ObjectMeta, &old.ObjectMeta), LimitRange(lr)...)
}

// limitRangeItem validates one entry of spec.limits.
func limitRangeItem(l *corev1.LimitRangeItem, types map[corev1.LimitType]bool, p *field.Path) field.ErrorList {
	errs := qualifiedName(string(l.Type), p.Child("type"))
	if len(errs) == 0 && !hasDomainPrefix(string(l.Type)) &&
		l.Type != corev1.LimitTypePod && l.Type != corev1.LimitTypeContainer && l.Type != corev1.LimitTypePersistentVolumeClaim {
		errs = append(errs, field.Invalid(p.Child("type"), l.Type, "must be a standard limit type or fully qualified"))
	}
	if types[l.Type] {
		errs = append(errs, field.Duplicate(p.Child("type"), l.Type))
	}
	types[l.Type] = true
	nameCheck := resourceName
	if l.Type == corev1.LimitTypePod || l.Type == corev1.LimitTypeContainer {
		nameCheck = containerResourceName
	}
	keys := map[corev1.ResourceName]bool{}
	check := func(list corev1.ResourceList, child string) {
		for _, n := range sortedResourceNames(list) {
			errs = append(errs, nameCheck(n, p.Child(child).Key(string(n)))...)
			keys[n] = true
		}
	}
	check(l.Max, "max")
	check(l.Min, "min")
	if l.Type == corev1.LimitTypePod {
		if len(l.Default) > 0 {
			errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
		}
		if len(l.DefaultRequest) > 0 {
			errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
		}
	} else {
		check(l.Default, "default")
		check(l.DefaultRequest, "defaultRequest")
	}
	if l.Type == corev1.LimitTypePersistentVolumeClaim {
		_, hasMin := l.Min[corev1.ResourceStorage]
		_, hasMax := l.Max[corev1.ResourceStorage]
		if !hasMin && !hasMax {
			errs = append(errs, field.Required(p.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
		}
	}
	check(l.MaxLimitRequestRatio, "maxLimitRequestRatio")
	for _, k := range sortedResourceNames(resourceSet(keys)) {
		errs = append(errs, limitBounds(l, k, p)...)
	}
	return errs
}

// limitBounds checks the ordering of one resource's bounds.
func limitBounds(l *corev1.LimitRangeItem, k corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	key := string(k)
	minQ, hasMin := l.Min[k]
	maxQ, hasMax := l.Max[k]
	defQ, hasDef := l.Default[k]
	reqQ, hasReq := l.DefaultRequest[k]
	ratio, hasRatio := l.MaxLimitRequestRatio[k]
	if l.Type == corev1.LimitTypePod {
		hasDef, hasReq = false, false
	}
	if hasMin && hasMax && minQ.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("min").Key(key), minQ, fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
	}
	if hasReq && hasMin && minQ.Cmp(reqQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), reqQ.String())))
	}
	if hasReq && hasMax && reqQ.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default request value %s is greater than max value %s", reqQ.String(), maxQ.String())))
	}
	if hasReq && hasDef && reqQ.Cmp(defQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default request value %s is greater than default limit value %s", reqQ.String(), defQ.String())))
	}
	if hasDef && hasMin && minQ.Cmp(defQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("default").Key(key), minQ, fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), defQ.String())))
	}
	if hasDef && hasMax && defQ.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("default").Key(key), maxQ, fmt.Sprintf("default value %s is greater than max value %s", defQ.String(), maxQ.String())))
	}
	if hasRatio && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
		errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
	}
	if hasRatio && hasMin && hasMax && minQ.MilliValue() > 0 {
		limit := float64(maxQ.MilliValue()) / float64(minQ.MilliValue())
		if float64(ratio.MilliValue())/1000 > limit {
			errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limit)))
		}
	}
	if !overcommitAllowed(k) && hasDef && hasReq && defQ.Cmp(reqQ) != 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", defQ.String(), reqQ.String(), k)))
	}
	return errs
}

// resourceSet turns a set of names into a ResourceList for sorting.
func resourceSet(keys map[corev1.ResourceName]bool) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k := range keys {
		out[k] = resource.Quantity{}
	}
	return out
}

// hasDomainPrefix reports whether s is domain-qualified ("example.com/x").
func hasDomainPrefix(s string) bool {
	for _, r := range s {
		if r == '/' {
			return true
		}
	}
	return false
}
