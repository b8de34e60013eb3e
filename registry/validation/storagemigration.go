package validation

import (
	"fmt"
	"strings"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// StorageVersionMigration validates a migration on create: the resource it
// migrates, a DNS-1035 label, and its group, a DNS subdomain when set.
func StorageVersionMigration(svm *storagemigrationv1.StorageVersionMigration) field.ErrorList {
	errs := objectMeta(&svm.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	rp := field.NewPath("spec", "resource")
	if r := svm.Spec.Resource.Resource; r == "" {
		errs = append(errs, field.Required(rp.Child("resource"), "resource is required to be set"))
	} else if m := utilvalidation.IsDNS1035Label(r); len(m) > 0 {
		errs = append(errs, field.Invalid(rp.Child("resource"), r, strings.Join(m, ",")))
	}
	if g := svm.Spec.Resource.Group; g != "" {
		if m := utilvalidation.IsDNS1123Subdomain(g); len(m) > 0 {
			errs = append(errs, field.Invalid(rp.Child("group"), g, strings.Join(m, ",")))
		}
	}
	return errs
}

// StorageVersionMigrationUpdate validates an update: as a create, with an
// immutable spec.
func StorageVersionMigrationUpdate(svm, old *storagemigrationv1.StorageVersionMigration) field.ErrorList {
	errs := StorageVersionMigration(svm)
	errs = append(errs, objectMetaUpdate(&svm.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, immutable(svm.Spec, old.Spec, field.NewPath("spec"))...)
}

// StorageVersionMigrationStatusUpdate validates a write to the status: a
// well-formed resourceVersion that never changes once set, valid unique
// conditions, never Succeeded and Failed together, and neither of those
// withdrawn once true.
func StorageVersionMigrationStatusUpdate(svm, old *storagemigrationv1.StorageVersionMigration) field.ErrorList {
	errs := objectMetaUpdate(&svm.ObjectMeta, &old.ObjectMeta)
	sp := field.NewPath("status")
	rv := svm.Status.ResourceVersion
	if rv != "" {
		if c, err := resourceversion.CompareResourceVersion(rv, rv); err != nil || c != 0 {
			if err == nil {
				err = fmt.Errorf("unable to compare resource versions, %s is not equal to %s", rv, rv)
			}
			errs = append(errs, field.Invalid(sp.Child("resourceVersion"), rv, err.Error()))
		}
	}
	errs = append(errs, metav1validation.ValidateConditions(svm.Status.Conditions, sp.Child("conditions"))...)
	if old.Status.ResourceVersion != "" && old.Status.ResourceVersion != rv {
		errs = append(errs, field.Invalid(sp.Child("resourceVersion"), rv, "field is immutable"))
	}
	cp := sp.Child("conditions")
	succeeded, failed := migrationIs(svm, storagemigrationv1.MigrationSucceeded), migrationIs(svm, storagemigrationv1.MigrationFailed)
	if succeeded && failed {
		errs = append(errs, field.Invalid(cp, svm.Status.Conditions, "Both success and failed conditions cannot be true at the same time"))
	}
	if migrationIs(old, storagemigrationv1.MigrationSucceeded) && !succeeded {
		errs = append(errs, field.Invalid(cp, svm.Status.Conditions, "Success condition cannot be set to false once it is true"))
	}
	if migrationIs(old, storagemigrationv1.MigrationFailed) && !failed {
		errs = append(errs, field.Invalid(cp, svm.Status.Conditions, "Failed condition cannot be set to false once it is true"))
	}
	return errs
}

func migrationIs(svm *storagemigrationv1.StorageVersionMigration, t storagemigrationv1.MigrationConditionType) bool {
	c := apimeta.FindStatusCondition(svm.Status.Conditions, string(t))
	return c != nil && c.Status == metav1.ConditionTrue
}
