package validation

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// secretVolume requires a secret name and checks modes and items.
func secretVolume(s *corev1.SecretVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.SecretName == "" {
		errs = append(errs, field.Required(fldPath.Child("secretName"), ""))
	}
	errs = append(errs, fileMode(s.DefaultMode, fldPath.Child("defaultMode"))...)
	for i := range s.Items {
		errs = append(errs, keyToPath(&s.Items[i], fldPath.Child("items").Index(i))...)
	}
	return errs
}

// configMapVolume requires a ConfigMap name and checks modes and items.
func configMapVolume(c *corev1.ConfigMapVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	errs = append(errs, fileMode(c.DefaultMode, fldPath.Child("defaultMode"))...)
	for i := range c.Items {
		errs = append(errs, keyToPath(&c.Items[i], fldPath.Child("items").Index(i))...)
	}
	return errs
}

// keyToPath checks one projected key: key and relative path required.
func keyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(fldPath.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, localNonReservedPath(kp.Path, fldPath.Child("path"))...)
	return append(errs, fileMode(kp.Mode, fldPath.Child("mode"))...)
}

// downwardAPIVolume checks the default mode and every file. Like upstream,
// item errors are reported under the volume's path, not items[i].
func downwardAPIVolume(d *corev1.DownwardAPIVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := fileMode(d.DefaultMode, fldPath.Child("defaultMode"))
	for i := range d.Items {
		errs = append(errs, downwardAPIFile(&d.Items[i], fldPath)...)
	}
	return errs
}

// downwardAPIFile requires a path and exactly one of fieldRef and
// resourceFieldRef.
func downwardAPIFile(f *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, localNonReservedPath(f.Path, fldPath.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		errs = append(errs, objectFieldSelector(f.FieldRef, volumeFieldPaths, fldPath.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, resourceFieldSelector(f.ResourceFieldRef, true, fldPath.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, fileMode(f.Mode, fldPath.Child("mode"))...)
}

// projected checks each projection source and that no two sources write the
// same file.
func projected(p *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := fileMode(p.DefaultMode, fldPath.Child("defaultMode"))
	paths := map[string]bool{}
	claim := func(path, name string) {
		if path == "" {
			return
		}
		if paths[path] {
			errs = append(errs, field.Invalid(fldPath, name, "conflicting duplicate paths"))
		}
		paths[path] = true
	}
	for i := range p.Sources {
		src := &p.Sources[i]
		sp := fldPath.Child("sources").Index(i)
		if s := src.Secret; s != nil {
			if s.Name == "" {
				errs = append(errs, field.Required(sp.Child("secret", "name"), ""))
			}
			for j := range s.Items {
				errs = append(errs, keyToPath(&s.Items[j], sp.Child("secret", "items").Index(j))...)
				claim(s.Items[j].Path, s.Name)
			}
		}
		if c := src.ConfigMap; c != nil {
			if c.Name == "" {
				errs = append(errs, field.Required(sp.Child("configMap", "name"), ""))
			}
			for j := range c.Items {
				errs = append(errs, keyToPath(&c.Items[j], sp.Child("configMap", "items").Index(j))...)
				claim(c.Items[j].Path, c.Name)
			}
		}
		if d := src.DownwardAPI; d != nil {
			for j := range d.Items {
				errs = append(errs, downwardAPIFile(&d.Items[j], sp.Child("downwardAPI"))...)
				claim(d.Items[j].Path, d.Items[j].Path)
			}
		}
		if t := src.ServiceAccountToken; t != nil {
			tp := sp.Child("serviceAccountToken")
			switch exp := t.ExpirationSeconds; {
			case exp == nil:
				errs = append(errs, field.Required(tp.Child("expirationSeconds"), ""))
			case *exp < 10*60:
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *exp, "may not specify a duration less than 10 minutes"))
			case *exp > 1<<32:
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *exp, "may not specify a duration larger than 2^32 seconds"))
			}
			if t.Path == "" {
				errs = append(errs, field.Required(fldPath.Child("path"), ""))
			} else {
				errs = append(errs, localNonReservedPath(t.Path, fldPath.Child("path"))...)
			}
		}
	}
	return errs
}
