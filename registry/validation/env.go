package validation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// envFieldPaths are the downward API fields an env var may reference.
var envFieldPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
	"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
}

// volumeFieldPaths are the downward API fields a volume file may reference.
var volumeFieldPaths = []string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"}

// resourceFieldPaths are the container resources the downward API exposes.
var resourceFieldPaths = []string{
	"limits.cpu", "limits.ephemeral-storage", "limits.memory",
	"requests.cpu", "requests.ephemeral-storage", "requests.memory",
}

// env validates container environment variables (relaxed names, as in 1.37).
func env(vars []corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		idx := fldPath.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		} else {
			errs = append(errs, msgs(idx.Child("name"), ev.Name, utilvalidation.IsRelaxedEnvVarName(ev.Name))...)
		}
		errs = append(errs, envValueFrom(ev, idx.Child("valueFrom"))...)
	}
	return errs
}

// envValueFrom requires exactly one source, and no literal value beside it.
func envValueFrom(ev corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	from := ev.ValueFrom
	if from == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if from.FieldRef != nil {
		n++
		errs = append(errs, objectFieldSelector(from.FieldRef, envFieldPaths, fldPath.Child("fieldRef"))...)
	}
	if from.ResourceFieldRef != nil {
		n++
		errs = append(errs, resourceFieldSelector(from.ResourceFieldRef, false, fldPath.Child("resourceFieldRef"))...)
	}
	if from.ConfigMapKeyRef != nil {
		n++
		errs = append(errs, keySelector(from.ConfigMapKeyRef.Name, from.ConfigMapKeyRef.Key, fldPath.Child("configMapKeyRef"))...)
	}
	if from.SecretKeyRef != nil {
		n++
		errs = append(errs, keySelector(from.SecretKeyRef.Name, from.SecretKeyRef.Key, fldPath.Child("secretKeyRef"))...)
	}
	if from.FileKeyRef != nil {
		n++
		errs = append(errs, fileKeySelector(from.FileKeyRef, fldPath.Child("fileKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(fldPath, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` or `fileKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(fldPath, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
	}
	return errs
}

// objectFieldSelector checks a downward API fieldRef, including subscripted
// label and annotation references.
func objectFieldSelector(fs *corev1.ObjectFieldSelector, allowed []string, fldPath *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(fldPath.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(fldPath.Child("fieldPath"), "")}
	}
	if fs.APIVersion != "v1" {
		return field.ErrorList{field.Invalid(fldPath.Child("fieldPath"), fs.FieldPath, "error converting fieldPath: unsupported pod version: "+fs.APIVersion)}
	}
	if p, sub, ok := splitSubscript(fs.FieldPath); ok {
		switch p {
		case "metadata.annotations":
			return qualifiedName(strings.ToLower(sub), fldPath)
		case "metadata.labels":
			return qualifiedName(sub, fldPath)
		default:
			return field.ErrorList{field.Invalid(fldPath, p, "does not support subscript")}
		}
	}
	for _, a := range allowed {
		if fs.FieldPath == a {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(fldPath.Child("fieldPath"), fs.FieldPath, allowed)}
}

// splitSubscript splits "metadata.labels['key']" into path and key.
func splitSubscript(fieldPath string) (string, string, bool) {
	if !strings.HasSuffix(fieldPath, "']") {
		return fieldPath, "", false
	}
	s := strings.TrimSuffix(fieldPath, "']")
	parts := strings.SplitN(s, "['", 2)
	if len(parts) < 2 || len(parts[0]) == 0 {
		return fieldPath, "", false
	}
	return parts[0], parts[1], true
}

// resourceFieldSelector checks a downward API resourceFieldRef; volume files
// must also name the container.
func resourceFieldSelector(fs *corev1.ResourceFieldSelector, volume bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case volume && fs.ContainerName == "":
		errs = append(errs, field.Required(fldPath.Child("containerName"), ""))
	case fs.Resource == "":
		errs = append(errs, field.Required(fldPath.Child("resource"), ""))
	case !containsString(resourceFieldPaths, fs.Resource) &&
		!strings.HasPrefix(fs.Resource, "requests.hugepages-") && !strings.HasPrefix(fs.Resource, "limits.hugepages-"):
		errs = append(errs, field.NotSupported(fldPath.Child("resource"), fs.Resource, resourceFieldPaths))
	}
	return append(errs, divisor(fs.Resource, fs.Divisor, fldPath.Child("divisor"))...)
}

// divisor checks the unit a downward API resource is reported in.
func divisor(res string, d resource.Quantity, fldPath *field.Path) field.ErrorList {
	if d.Cmp(resource.Quantity{}) == 0 {
		return nil
	}
	memUnits := []string{"1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"}
	const memMsg = "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the "
	switch {
	case strings.HasSuffix(res, ".cpu"):
		if !containsString([]string{"1m", "1"}, d.String()) {
			return field.ErrorList{field.Invalid(fldPath, res, "only divisor's values 1m and 1 are supported with the cpu resource")}
		}
	case strings.HasSuffix(res, ".memory"):
		if !containsString(memUnits, d.String()) {
			return field.ErrorList{field.Invalid(fldPath, res, memMsg+"memory resource")}
		}
	case strings.HasSuffix(res, ".ephemeral-storage"):
		if !containsString(memUnits, d.String()) {
			return field.ErrorList{field.Invalid(fldPath, res, memMsg+"local ephemeral storage resource")}
		}
	case strings.Contains(res, ".hugepages-"):
		if !containsString(memUnits, d.String()) {
			return field.ErrorList{field.Invalid(fldPath, res, memMsg+"hugepages resource")}
		}
	}
	return nil
}

// keySelector checks a ConfigMap or Secret key reference.
func keySelector(name, key string, fldPath *field.Path) field.ErrorList {
	errs := objectName(apimachineryvalidation.NameIsDNSSubdomain, name, fldPath.Child("name"))
	if key == "" {
		return append(errs, field.Required(fldPath.Child("key"), ""))
	}
	return append(errs, msgs(fldPath.Child("key"), key, utilvalidation.IsConfigMapKey(key))...)
}

// fileKeySelector checks an env var read from a file in an emptyDir volume.
func fileKeySelector(s *corev1.FileKeySelector, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Key == "" {
		errs = append(errs, field.Required(fldPath.Child("key"), ""))
	} else {
		errs = append(errs, msgs(fldPath.Child("key"), s.Key, utilvalidation.IsRelaxedEnvVarName(s.Key))...)
	}
	if s.VolumeName == "" {
		errs = append(errs, field.Required(fldPath.Child("volumeName"), ""))
	} else {
		errs = append(errs, dnsLabel(s.VolumeName, fldPath.Child("volumeName"))...)
	}
	if s.Path == "" {
		return append(errs, field.Required(fldPath.Child("path"), ""))
	}
	return append(errs, noBacksteps(s.Path, fldPath.Child("path"))...)
}

// envFrom validates bulk imports from ConfigMaps and Secrets.
func envFrom(list []corev1.EnvFromSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range list {
		idx := fldPath.Index(i)
		if ev.Prefix != "" {
			errs = append(errs, msgs(idx.Child("prefix"), ev.Prefix, utilvalidation.IsRelaxedEnvVarName(ev.Prefix))...)
		}
		n := 0
		if ev.ConfigMapRef != nil {
			n++
			errs = append(errs, refName(ev.ConfigMapRef.Name, idx.Child("configMapRef", "name"))...)
		}
		if ev.SecretRef != nil {
			n++
			errs = append(errs, refName(ev.SecretRef.Name, idx.Child("secretRef", "name"))...)
		}
		if n == 0 {
			errs = append(errs, field.Invalid(fldPath, "", "must specify one of: `configMapRef` or `secretRef`"))
		} else if n > 1 {
			errs = append(errs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// refName requires a DNS subdomain name of a referenced object.
func refName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return msgs(fldPath, name, apimachineryvalidation.NameIsDNSSubdomain(name, true))
}

// containsString reports whether list holds s.
func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
