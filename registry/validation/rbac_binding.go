package validation

import (
	rbacv1 "k8s.io/api/rbac/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var subjectKinds = []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}

// RoleBinding validates a RoleBinding on create: a roleRef to a Role or
// ClusterRole of rbac.authorization.k8s.io, and well-formed subjects.
func RoleBinding(b *rbacv1.RoleBinding) field.ErrorList {
	errs := objectMeta(&b.ObjectMeta, true, rbacName)
	errs = append(errs, roleRef(&b.RoleRef, []string{"Role", "ClusterRole"})...)
	return append(errs, subjects(b.Subjects, true, field.NewPath("subjects"))...)
}

// RoleBindingUpdate validates a RoleBinding update; roleRef is immutable.
func RoleBindingUpdate(b, old *rbacv1.RoleBinding) field.ErrorList {
	errs := append(RoleBinding(b), objectMetaUpdate(&b.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, immutable(b.RoleRef, old.RoleRef, field.NewPath("roleRef"))...)
}

// ClusterRoleBinding validates a ClusterRoleBinding on create: a roleRef to
// a ClusterRole, and subjects whose service accounts name a namespace.
func ClusterRoleBinding(b *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := objectMeta(&b.ObjectMeta, false, rbacName)
	errs = append(errs, roleRef(&b.RoleRef, []string{"ClusterRole"})...)
	return append(errs, subjects(b.Subjects, false, field.NewPath("subjects"))...)
}

// ClusterRoleBindingUpdate validates a ClusterRoleBinding update; roleRef
// is immutable.
func ClusterRoleBindingUpdate(b, old *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := append(ClusterRoleBinding(b), objectMetaUpdate(&b.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, immutable(b.RoleRef, old.RoleRef, field.NewPath("roleRef"))...)
}

// roleRef checks the group, kind (one of kinds) and name of a role reference.
func roleRef(ref *rbacv1.RoleRef, kinds []string) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(p.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	known := false
	for _, k := range kinds {
		known = known || ref.Kind == k
	}
	if !known {
		errs = append(errs, field.NotSupported(p.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		return append(errs, field.Required(p.Child("name"), ""))
	}
	return append(errs, objectName(rbacName, ref.Name, p.Child("name"))...)
}

// subjects checks each subject: ServiceAccounts have a valid name, the core
// group and (outside a namespace) a namespace; Users and Groups belong to
// rbac.authorization.k8s.io.
func subjects(list []rbacv1.Subject, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range list {
		p := fldPath.Index(i)
		if s.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if s.Name != "" {
				errs = append(errs, objectName(apimachineryvalidation.ValidateServiceAccountName, s.Name, p.Child("name"))...)
			}
			if s.APIGroup != "" {
				errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
			}
			if !namespaced && s.Namespace == "" {
				errs = append(errs, field.Required(p.Child("namespace"), ""))
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.APIGroup != rbacv1.GroupName {
				errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind, subjectKinds))
		}
	}
	return errs
}
