package validation

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Messages shared with upstream so that error details read the same.
const (
	immutableMsg        = apimachineryvalidation.FieldImmutableErrorMsg
	notPositiveMsg      = "must be greater than zero"
	notIntegerMsg       = "must be an integer"
	fileModeMsg         = "must be a number between 0 and 0777 (octal), both inclusive"
	emptyDirModeMsg     = "must be a number between 0 and 01777 (octal), both inclusive"
	immutableWhenSetMsg = "field is immutable when `immutable` is set"
)

// nameFunc reports why name is not a valid object name; prefix is true when
// name is a generateName prefix.
type nameFunc = apimachineryvalidation.ValidateNameFunc

// standardFinalizers are the finalizer names that need no domain prefix.
var standardFinalizers = map[string]bool{
	"kubernetes":                     true,
	metav1.FinalizerOrphanDependents: true,
	metav1.FinalizerDeleteDependents: true,
}

// objectMeta validates metadata on create: name rule, namespace presence,
// labels, annotations, owner references and finalizer names.
func objectMeta(meta *metav1.ObjectMeta, namespaced bool, fn nameFunc) field.ErrorList {
	fldPath := field.NewPath("metadata")
	errs := apimachineryvalidation.ValidateObjectMeta(meta, namespaced, fn, fldPath)
	return append(errs, kubeFinalizers(meta.Finalizers, fldPath.Child("finalizers"))...)
}

// objectMetaUpdate validates metadata on update: immutable name, namespace,
// uid and creation timestamp, plus the create-time label/annotation rules.
func objectMetaUpdate(meta, old *metav1.ObjectMeta) field.ErrorList {
	fldPath := field.NewPath("metadata")
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(meta, old, fldPath)
	return append(errs, kubeFinalizers(meta.Finalizers, fldPath.Child("finalizers"))...)
}

// kubeFinalizers rejects unqualified finalizer names that are not standard.
func kubeFinalizers(finalizers []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		if !strings.Contains(f, "/") && !standardFinalizers[f] {
			errs = append(errs, field.Invalid(fldPath.Index(i), f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// msgs turns the messages of a string check into Invalid errors at fldPath.
func msgs(fldPath *field.Path, value any, messages []string) field.ErrorList {
	var errs field.ErrorList
	for _, m := range messages {
		errs = append(errs, field.Invalid(fldPath, value, m))
	}
	return errs
}

// dnsLabel checks value is an RFC 1123 label.
func dnsLabel(value string, fldPath *field.Path) field.ErrorList {
	return msgs(fldPath, value, utilvalidation.IsDNS1123Label(value))
}

// dnsSubdomain checks value is an RFC 1123 subdomain.
func dnsSubdomain(value string, fldPath *field.Path) field.ErrorList {
	return msgs(fldPath, value, utilvalidation.IsDNS1123Subdomain(value))
}

// qualifiedName checks value is a (optionally prefixed) qualified name.
func qualifiedName(value string, fldPath *field.Path) field.ErrorList {
	return msgs(fldPath, value, utilvalidation.IsQualifiedName(value))
}

// objectName checks value against an object name rule (not a prefix).
func objectName(fn nameFunc, value string, fldPath *field.Path) field.ErrorList {
	return msgs(fldPath, value, fn(value, false))
}

// nonNegative rejects negative integers.
func nonNegative(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

// nonNegativeQuantity rejects negative quantities.
func nonNegativeQuantity(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Cmp(resource.Quantity{}) < 0 {
		return field.ErrorList{field.Invalid(fldPath, q.String(), apimachineryvalidation.IsNegativeErrorMsg)}
	}
	return nil
}

// positiveQuantity rejects zero and negative quantities.
func positiveQuantity(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Cmp(resource.Quantity{}) <= 0 {
		return field.ErrorList{field.Invalid(fldPath, q.String(), notPositiveMsg)}
	}
	return nil
}

// immutable reports Invalid when newVal and oldVal differ semantically.
func immutable(newVal, oldVal any, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newVal, oldVal, fldPath)
}

// noBacksteps rejects paths containing a ".." element.
func noBacksteps(target string, fldPath *field.Path) field.ErrorList {
	for _, part := range strings.Split(filepath.ToSlash(target), "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
		}
	}
	return nil
}

// localDescendingPath requires a relative path without "..".
func localDescendingPath(target string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(fldPath, target, "must be a relative path"))
	}
	return append(errs, noBacksteps(target, fldPath)...)
}

// localNonReservedPath is localDescendingPath that also rejects a ".." prefix
// such as "..data", which the kubelet reserves for atomic writes.
func localNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	errs := localDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return errs
}

// fileMode checks an optional permission mode is within 0..0777.
func fileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeMsg)}
	}
	return nil
}

// userID checks an optional uid is a valid Linux user id.
func userID(uid *int64, fldPath *field.Path) field.ErrorList {
	if uid == nil {
		return nil
	}
	return msgs(fldPath, *uid, utilvalidation.IsValidUserID(*uid))
}

// portNum checks a port number is 1..65535.
func portNum(port int32, fldPath *field.Path) field.ErrorList {
	return msgs(fldPath, port, utilvalidation.IsValidPortNum(int(port)))
}

// oneOf reports Required when value is empty and NotSupported when it is
// not one of allowed; it is the shape of every defaulted enum upstream.
func oneOf[T ~string](value T, allowed []T, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(fldPath, value, allowed)}
}

// inRangeMsg is the upstream wording for an inclusive range.
func inRangeMsg(lo, hi int) string { return utilvalidation.InclusiveRangeError(lo, hi) }

// mustMatchMsg formats the detail for a value that has to equal another field.
func mustMatchMsg(what string, value any) string {
	return fmt.Sprintf("must be the same as %s: %q", what, value)
}

// isPortName reports why s is not an IANA service name.
func isPortName(s string) []string { return utilvalidation.IsValidPortName(s) }
