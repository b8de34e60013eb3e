package validation

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/validation/path"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// Bounds of an APIService's priorities, as upstream enforces them.
const (
	maxGroupPriorityMinimum = 20000
	maxVersionPriority      = 1000
)

// apiServiceConditionStatuses are the values of an APIService condition's status.
var apiServiceConditionStatuses = []apiregistrationv1.ConditionStatus{
	apiregistrationv1.ConditionTrue, apiregistrationv1.ConditionFalse, apiregistrationv1.ConditionUnknown,
}

// APIService validates an apiregistration.k8s.io APIService on create: its
// name is "<version>.<group>", only v1 may have the empty (core) group, the
// priorities are in range, a local APIService (no service) has no TLS
// settings, and a service reference names a namespace, a name and a port.
func APIService(s *apiregistrationv1.APIService) field.ErrorList {
	required := s.Spec.Version + "." + s.Spec.Group
	errs := objectMeta(&s.ObjectMeta, false, func(name string, prefix bool) []string {
		if problems := path.IsValidPathSegmentName(name); len(problems) > 0 {
			return problems
		}
		if name != required {
			return []string{fmt.Sprintf("must be `spec.version+\".\"+spec.group`: %q", required)}
		}
		return nil
	})
	spec := field.NewPath("spec")
	if s.Spec.Group == "" && s.Spec.Version != "v1" {
		errs = append(errs, field.Required(spec.Child("group"), "only v1 may have an empty group and it better be legacy kube"))
	}
	if s.Spec.Group != "" {
		errs = append(errs, dnsSubdomain(s.Spec.Group, spec.Child("group"))...)
	}
	errs = append(errs, msgs(spec.Child("version"), s.Spec.Version, utilvalidation.IsDNS1035Label(s.Spec.Version))...)
	if p := s.Spec.GroupPriorityMinimum; p <= 0 || p > maxGroupPriorityMinimum {
		errs = append(errs, field.Invalid(spec.Child("groupPriorityMinimum"), p, "must be positive and less than 20000"))
	}
	if p := s.Spec.VersionPriority; p <= 0 || p > maxVersionPriority {
		errs = append(errs, field.Invalid(spec.Child("versionPriority"), p, "must be positive and less than 1000"))
	}

	ref := s.Spec.Service
	if ref == nil {
		if len(s.Spec.CABundle) > 0 {
			errs = append(errs, field.Invalid(spec.Child("caBundle"), fmt.Sprintf("%d bytes", len(s.Spec.CABundle)), "local APIServices may not have a caBundle"))
		}
		if s.Spec.InsecureSkipTLSVerify {
			errs = append(errs, field.Invalid(spec.Child("insecureSkipTLSVerify"), true, "local APIServices may not have insecureSkipTLSVerify"))
		}
		return errs
	}
	svc := spec.Child("service")
	if ref.Namespace == "" {
		errs = append(errs, field.Required(svc.Child("namespace"), ""))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(svc.Child("name"), ""))
	}
	if ref.Port == nil {
		errs = append(errs, field.Required(svc.Child("port"), ""))
	} else {
		errs = append(errs, portNum(*ref.Port, svc.Child("port"))...)
	}
	if s.Spec.InsecureSkipTLSVerify && len(s.Spec.CABundle) > 0 {
		errs = append(errs, field.Invalid(spec.Child("insecureSkipTLSVerify"), true, "may not be true if caBundle is present"))
	}
	return errs
}

// APIServiceUpdate validates an update: the metadata rules of an update, and
// the new object as on create.
func APIServiceUpdate(s, old *apiregistrationv1.APIService) field.ErrorList {
	errs := objectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	return append(errs, APIService(s)...)
}

// APIServiceStatusUpdate validates a write to the status: every condition's
// status is True, False or Unknown.
func APIServiceStatusUpdate(s, old *apiregistrationv1.APIService) field.ErrorList {
	errs := objectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	conditions := field.NewPath("status", "conditions")
	for i, c := range s.Status.Conditions {
		if !slices.Contains(apiServiceConditionStatuses, c.Status) {
			errs = append(errs, field.NotSupported(conditions.Index(i).Child("status"), c.Status, apiServiceConditionStatuses))
		}
	}
	return errs
}
