package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// sysctlMaxLength is the longest sysctl name the kernel accepts.
const sysctlMaxLength = 253

// podSecurityContext validates ids, sysctls, fsGroup policy, seccomp and
// AppArmor at pod level.
func podSecurityContext(sc *corev1.PodSecurityContext, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.FSGroup != nil {
		errs = append(errs, msgs(fldPath.Child("fsGroup"), *sc.FSGroup, utilvalidation.IsValidGroupID(*sc.FSGroup))...)
	}
	errs = append(errs, userID(sc.RunAsUser, fldPath.Child("runAsUser"))...)
	if sc.RunAsGroup != nil {
		errs = append(errs, msgs(fldPath.Child("runAsGroup"), *sc.RunAsGroup, utilvalidation.IsValidGroupID(*sc.RunAsGroup))...)
	}
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, msgs(fldPath.Child("supplementalGroups").Index(i), g, utilvalidation.IsValidGroupID(g))...)
	}
	names := map[string]bool{}
	for i, s := range sc.Sysctls {
		p := fldPath.Child("sysctls").Index(i).Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(p, ""))
		case !isSysctlName(s.Name):
			errs = append(errs, field.Invalid(p, s.Name, fmt.Sprintf("must have at most %d characters and match regex %s", sysctlMaxLength, "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$")))
		case names[s.Name]:
			errs = append(errs, field.Duplicate(p, s.Name))
		}
		names[s.Name] = true
	}
	if sc.FSGroupChangePolicy != nil {
		allowed := []corev1.PodFSGroupChangePolicy{corev1.FSGroupChangeAlways, corev1.FSGroupChangeOnRootMismatch}
		if *sc.FSGroupChangePolicy != allowed[0] && *sc.FSGroupChangePolicy != allowed[1] {
			errs = append(errs, field.NotSupported(fldPath.Child("fsGroupChangePolicy"), sc.FSGroupChangePolicy, allowed))
		}
	}
	if sc.SupplementalGroupsPolicy != nil {
		allowed := []corev1.SupplementalGroupsPolicy{corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict}
		if *sc.SupplementalGroupsPolicy != allowed[0] && *sc.SupplementalGroupsPolicy != allowed[1] {
			errs = append(errs, field.NotSupported(fldPath.Child("supplementalGroupsPolicy"), sc.SupplementalGroupsPolicy, allowed))
		}
	}
	errs = append(errs, seccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	return append(errs, appArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
}

// isSysctlName reports whether name is dot- or slash-separated segments of
// [a-z0-9]([-_a-z0-9]*[a-z0-9])?.
func isSysctlName(name string) bool {
	if len(name) == 0 || len(name) > sysctlMaxLength {
		return false
	}
	for _, seg := range strings.Split(strings.ReplaceAll(name, "/", "."), ".") {
		if seg == "" {
			return false
		}
		for i, r := range seg {
			alnum := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
			if !alnum && ((i == 0 || i == len(seg)-1) || (r != '-' && r != '_')) {
				return false
			}
		}
	}
	return true
}

// containerSecurityContext validates a container's security context.
// Privileged containers are allowed (kubelite runs with allow-privileged).
func containerSecurityContext(sc *corev1.SecurityContext, hostUsers bool, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := userID(sc.RunAsUser, fldPath.Child("runAsUser"))
	if sc.RunAsGroup != nil {
		errs = append(errs, msgs(fldPath.Child("runAsGroup"), *sc.RunAsGroup, utilvalidation.IsValidGroupID(*sc.RunAsGroup))...)
	}
	if sc.ProcMount != nil {
		allowed := []corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount}
		if *sc.ProcMount != allowed[0] && *sc.ProcMount != allowed[1] {
			errs = append(errs, field.NotSupported(fldPath.Child("procMount"), *sc.ProcMount, allowed))
		}
		if hostUsers && *sc.ProcMount == corev1.UnmaskedProcMount {
			errs = append(errs, field.Invalid(fldPath.Child("procMount"), sc.ProcMount, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, seccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	return append(errs, appArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
}

// seccompProfile checks the type and that only Localhost names a profile.
func seccompProfile(sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch sp.Type {
	case corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), "type is required when seccompProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), sp.Type, []corev1.SeccompProfileType{
			corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined,
		}))
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost {
		if sp.LocalhostProfile == nil {
			errs = append(errs, field.Required(fldPath.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		} else {
			errs = append(errs, localDescendingPath(*sp.LocalhostProfile, fldPath.Child("localhostProfile"))...)
		}
	} else if sp.LocalhostProfile != nil {
		errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

// appArmorProfile checks the type and that only Localhost names a profile.
func appArmorProfile(p *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	lp := fldPath.Child("localhostProfile")
	switch p.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		switch {
		case p.LocalhostProfile == nil:
			return field.ErrorList{field.Required(lp, "must be set when AppArmor type is Localhost")}
		case strings.TrimSpace(*p.LocalhostProfile) != *p.LocalhostProfile:
			return field.ErrorList{field.Invalid(lp, *p.LocalhostProfile, "must not be padded with whitespace")}
		case *p.LocalhostProfile == "":
			return field.ErrorList{field.Required(lp, "must be set when AppArmor type is Localhost")}
		case len(*p.LocalhostProfile) > 4095:
			return field.ErrorList{field.TooLong(lp, "", 4095)}
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if p.LocalhostProfile != nil {
			return field.ErrorList{field.Invalid(lp, p.LocalhostProfile, "can only be set when AppArmor type is Localhost")}
		}
	case "":
		return field.ErrorList{field.Required(fldPath.Child("type"), "type is required when appArmorProfile is set")}
	default:
		return field.ErrorList{field.NotSupported(fldPath.Child("type"), p.Type, []corev1.AppArmorProfileType{
			corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined,
		})}
	}
	return nil
}
