package validation

import (
	"reflect"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxDataSize is the total payload limit of a ConfigMap or Secret (1 MiB).
const maxDataSize = 1 * 1024 * 1024

// ConfigMap validates a ConfigMap on create: name, keys, no key in both
// data and binaryData, and a total size of at most 1 MiB.
func ConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := objectMeta(&cm.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	total := 0
	dataPath, binPath := field.NewPath("data"), field.NewPath("binaryData")
	for _, k := range sortedKeys(cm.Data) {
		errs = append(errs, msgs(dataPath.Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(dataPath.Key(k), k, "duplicate of key present in binaryData"))
		}
		total += len(cm.Data[k])
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		errs = append(errs, msgs(binPath.Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		total += len(cm.BinaryData[k])
	}
	if total > maxDataSize {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxDataSize))
	}
	return errs
}

// ConfigMapUpdate validates a ConfigMap update; an immutable ConfigMap may
// not change its data or become mutable again.
func ConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	errs := objectMetaUpdate(&cm.ObjectMeta, &old.ObjectMeta)
	if old.Immutable != nil && *old.Immutable {
		if cm.Immutable == nil || !*cm.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableWhenSetMsg))
		}
		if !reflect.DeepEqual(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), immutableWhenSetMsg))
		}
		if !reflect.DeepEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), immutableWhenSetMsg))
		}
	}
	return append(errs, ConfigMap(cm)...)
}

// sortedKeys returns the keys of m in order, for deterministic errors.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
