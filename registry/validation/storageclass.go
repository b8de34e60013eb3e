package validation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// StorageClass parameter limits, as upstream.
const (
	maxParameters     = 512
	maxParametersSize = 256 * (1 << 10)
)

var (
	classReclaimPolicies = []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain}
	volumeBindingModes   = []storagev1.VolumeBindingMode{storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer}
)

// StorageClass validates a StorageClass on create: a qualified provisioner,
// bounded parameters, Delete or Retain reclaim, a binding mode and
// well-formed allowed topologies.
func StorageClass(sc *storagev1.StorageClass) field.ErrorList {
	errs := objectMeta(&sc.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(field.NewPath("provisioner"), ""))
	} else {
		errs = append(errs, qualifiedName(strings.ToLower(sc.Provisioner), field.NewPath("provisioner"))...)
	}
	errs = append(errs, classParameters(sc.Parameters, field.NewPath("parameters"))...)
	if p := sc.ReclaimPolicy; p != nil && *p != "" && !containsValue(classReclaimPolicies, *p) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *p, classReclaimPolicies))
	}
	if m := sc.VolumeBindingMode; m == nil {
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	} else if !containsValue(volumeBindingModes, *m) {
		errs = append(errs, field.NotSupported(field.NewPath("volumeBindingMode"), *m, volumeBindingModes))
	}
	return append(errs, allowedTopologies(sc.AllowedTopologies, field.NewPath("allowedTopologies"))...)
}

// StorageClassUpdate validates a StorageClass update: the new class as on
// create, and immutable parameters, provisioner, reclaimPolicy and
// volumeBindingMode.
func StorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	errs := StorageClass(sc)
	errs = append(errs, objectMetaUpdate(&sc.ObjectMeta, &old.ObjectMeta)...)
	errs = append(errs, immutable(sc.Parameters, old.Parameters, field.NewPath("parameters"))...)
	errs = append(errs, immutable(sc.Provisioner, old.Provisioner, field.NewPath("provisioner"))...)
	errs = append(errs, immutable(sc.ReclaimPolicy, old.ReclaimPolicy, field.NewPath("reclaimPolicy"))...)
	return append(errs, immutable(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

// classParameters bounds the number and total size of provisioner
// parameters and rejects empty keys.
func classParameters(params map[string]string, fldPath *field.Path) field.ErrorList {
	if len(params) > maxParameters {
		return field.ErrorList{field.TooLong(fldPath, "", maxParameters)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(fldPath, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxParametersSize {
		errs = append(errs, field.TooLong(fldPath, "", maxParametersSize))
	}
	return errs
}

// allowedTopologies checks each term's label requirements (key a label
// name, values present and unique, keys unique) and that no two terms are
// the same.
func allowedTopologies(terms []corev1.TopologySelectorTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var seen []map[string]map[string]bool
	for i, term := range terms {
		ep := fldPath.Index(i).Child("matchLabelExpressions")
		raw := map[string]map[string]bool{}
		for j, req := range term.MatchLabelExpressions {
			p := ep.Index(j)
			values := map[string]bool{}
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(p.Child("values"), ""))
			}
			for k, v := range req.Values {
				if values[v] {
					errs = append(errs, field.Duplicate(p.Child("values").Index(k), v))
				}
				values[v] = true
			}
			errs = append(errs, metav1validation.ValidateLabelName(req.Key, p.Child("key"))...)
			if _, dup := raw[req.Key]; dup {
				errs = append(errs, field.Duplicate(p.Child("key"), req.Key))
			}
			raw[req.Key] = values
		}
		for _, prev := range seen {
			if sameTopology(prev, raw) {
				errs = append(errs, field.Duplicate(ep, ""))
			}
		}
		seen = append(seen, raw)
	}
	return errs
}

func sameTopology(a, b map[string]map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || len(av) != len(bv) {
			return false
		}
		for v := range av {
			if !bv[v] {
				return false
			}
		}
	}
	return true
}
