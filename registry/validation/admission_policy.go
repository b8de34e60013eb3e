package validation

import (
	"fmt"
	"regexp"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/jsonpath"
)

// Policy limits, as upstream.
const (
	maxAuditAnnotations          = 20
	maxAuditAnnotationExpression = 5 * 1024
)

var (
	policyReasons     = []string{string(metav1.StatusReasonForbidden), string(metav1.StatusReasonInvalid), string(metav1.StatusReasonRequestEntityTooLarge)}
	validationActions = []string{string(admissionv1.Audit), string(admissionv1.Deny), string(admissionv1.Warn)}
	notFoundActions   = []string{string(admissionv1.DenyAction), string(admissionv1.AllowAction)}
	celIdentifier     = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)
	celReserved       = []string{"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
		"if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
	lineBreaks = regexp.MustCompile(`[\n\r]+`)
)

// ValidatingAdmissionPolicy validates a ValidatingAdmissionPolicy on create.
// Only the structure is checked: kubelite does not compile the CEL in
// validations, messageExpressions, variables, audit annotations or match
// conditions, so an expression that does not compile is accepted here
// where upstream reports it Invalid.
func ValidatingAdmissionPolicy(p *admissionv1.ValidatingAdmissionPolicy) field.ErrorList {
	errs := validatingPolicy(p, false)
	return append(errs, staticSuffix(p.Name)...)
}

// ValidatingAdmissionPolicyUpdate validates an update; match conditions
// are skipped when neither they nor paramKind changed. As upstream,
// metadata update rules are left to the registry.
func ValidatingAdmissionPolicyUpdate(p, old *admissionv1.ValidatingAdmissionPolicy) field.ErrorList {
	unchanged := equality.Semantic.DeepEqual(p.Spec.ParamKind, old.Spec.ParamKind) &&
		equality.Semantic.DeepEqual(p.Spec.MatchConditions, old.Spec.MatchConditions)
	return validatingPolicy(p, unchanged)
}

// ValidatingAdmissionPolicyStatusUpdate validates a write to the status:
// type-checking warnings and conditions.
func ValidatingAdmissionPolicyStatusUpdate(p, old *admissionv1.ValidatingAdmissionPolicy) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("status")
	if tc := p.Status.TypeChecking; tc != nil {
		wp := sp.Child("typeChecking", "expressionWarnings")
		for i, w := range tc.ExpressionWarnings {
			if w.Warning == "" {
				errs = append(errs, field.Required(wp.Index(i).Child("warning"), ""))
			}
			errs = append(errs, fieldRef(w.FieldRef, wp.Index(i).Child("fieldRef"))...)
		}
	}
	return append(errs, metav1validation.ValidateConditions(p.Status.Conditions, sp.Child("conditions"))...)
}

// fieldRef requires a non-blank reference that parses as JSONPath.
func fieldRef(ref string, fldPath *field.Path) field.ErrorList {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if err := jsonpath.New("spec").Parse("{" + ref + "}"); err != nil {
		return field.ErrorList{field.Invalid(fldPath, ref, fmt.Sprintf("invalid JSONPath: %v", err))}
	}
	return nil
}

func validatingPolicy(p *admissionv1.ValidatingAdmissionPolicy, ignoreMatchConditions bool) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&p.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	spec, fp := &p.Spec, field.NewPath("spec")
	if fpol := spec.FailurePolicy; fpol == nil {
		errs = append(errs, field.Required(fp.Child("failurePolicy"), ""))
	} else if !containsValue(failurePolicies, string(*fpol)) {
		errs = append(errs, field.NotSupported(fp.Child("failurePolicy"), *fpol, failurePolicies))
	}
	if spec.ParamKind != nil {
		errs = append(errs, paramKind(spec.ParamKind, fp.Child("paramKind"))...)
	}
	if spec.MatchConstraints == nil {
		errs = append(errs, field.Required(fp.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, matchResources(spec.MatchConstraints, fp.Child("matchConstraints"))...)
		if len(spec.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(fp.Child("matchConstraints", "resourceRules"), ""))
		}
	}
	if !ignoreMatchConditions {
		errs = append(errs, matchConditions(spec.MatchConditions, fp.Child("matchConditions"))...)
	}
	errs = append(errs, policyVariables(spec.Variables, fp.Child("variables"))...)
	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		const msg = "validations or auditAnnotations must contain at least one item"
		return append(errs, field.Required(fp.Child("validations"), msg), field.Required(fp.Child("auditAnnotations"), msg))
	}
	for i := range spec.Validations {
		errs = append(errs, policyValidation(&spec.Validations[i], fp.Child("validations").Index(i))...)
	}
	ap := fp.Child("auditAnnotations")
	if len(spec.AuditAnnotations) > maxAuditAnnotations {
		errs = append(errs, field.Invalid(ap, spec.AuditAnnotations, fmt.Sprintf("must not have more than %d auditAnnotations", maxAuditAnnotations)))
	}
	keys := map[string]bool{}
	for i, a := range spec.AuditAnnotations {
		errs = append(errs, auditAnnotation(&a, p.Name, ap.Index(i))...)
		if keys[a.Key] {
			errs = append(errs, field.Duplicate(ap.Index(i).Child("key"), a.Key))
		}
		keys[a.Key] = true
	}
	return errs
}

// policyVariables requires each variable's name to be a CEL identifier and
// its expression to be set (uncompiled).
func policyVariables(vars []admissionv1.Variable, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, v := range vars {
		vp := fldPath.Index(i)
		if strings.TrimSpace(v.Name) == "" {
			errs = append(errs, field.Required(vp.Child("name"), "name is not specified"))
		} else if !celIdentifier.MatchString(v.Name) || containsValue(celReserved, v.Name) {
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, "must be a valid CEL identifier"))
		}
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
		}
	}
	return errs
}

// auditAnnotation requires "<policy name>/<key>" to be a qualified name and
// a value expression of at most 5 KiB (uncompiled).
func auditAnnotation(a *admissionv1.AuditAnnotation, policyName string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if policyName != "" {
		errs = append(errs, qualifiedName(policyName+"/"+a.Key, fldPath.Child("key"))...)
	} else {
		errs = append(errs, field.Invalid(fldPath.Child("key"), a.Key, "requires metadata.name be non-empty"))
	}
	switch expr := strings.TrimSpace(a.ValueExpression); {
	case expr == "":
		errs = append(errs, field.Required(fldPath.Child("valueExpression"), "valueExpression is not specified"))
	case len(expr) > maxAuditAnnotationExpression:
		errs = append(errs, field.Required(fldPath.Child("valueExpression"), fmt.Sprintf("must not exceed %d bytes in length", maxAuditAnnotationExpression)))
	}
	return errs
}

// policyValidation checks one validation: an expression, non-blank message
// and messageExpression when set, a single-line message and a known reason.
func policyValidation(v *admissionv1.Validation, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.TrimSpace(v.Expression) == "" {
		errs = append(errs, field.Required(fldPath.Child("expression"), "expression is not specified"))
	}
	if v.MessageExpression != "" && strings.TrimSpace(v.MessageExpression) == "" {
		errs = append(errs, field.Invalid(fldPath.Child("messageExpression"), v.MessageExpression, "must be non-empty if specified"))
	}
	msg := strings.TrimSpace(v.Message)
	if v.Message != "" && msg == "" {
		errs = append(errs, field.Invalid(fldPath.Child("message"), v.Message, "must be non-empty if specified"))
	} else if lineBreaks.MatchString(msg) {
		errs = append(errs, field.Invalid(fldPath.Child("message"), v.Message, "must not contain line breaks"))
	}
	if r := v.Reason; r != nil && !containsValue(policyReasons, string(*r)) {
		errs = append(errs, field.NotSupported(fldPath.Child("reason"), *r, policyReasons))
	}
	return errs
}

// paramKind requires a group/version (group a DNS subdomain, version a
// DNS-1035 label) and a kind that is a DNS-1035 label ignoring case.
func paramKind(pk *admissionv1.ParamKind, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	vp := fldPath.Child("apiVersion")
	switch {
	case pk.APIVersion == "":
		errs = append(errs, field.Required(vp, ""))
	case strings.Count(pk.APIVersion, "/") > 1:
		errs = append(errs, field.Invalid(vp, pk.APIVersion, "unexpected GroupVersion string: "+pk.APIVersion))
	default:
		group, version, ok := strings.Cut(pk.APIVersion, "/")
		if !ok {
			group, version = "", pk.APIVersion
		}
		if group != "" {
			if m := utilvalidation.IsDNS1123Subdomain(group); len(m) > 0 {
				errs = append(errs, field.Invalid(vp, group, strings.Join(m, ",")))
			}
		}
		if version == "" {
			errs = append(errs, field.Invalid(vp, pk.APIVersion, "version must be specified"))
		} else if m := utilvalidation.IsDNS1035Label(version); len(m) > 0 {
			errs = append(errs, field.Invalid(vp, version, strings.Join(m, ",")))
		}
	}
	if pk.Kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	} else if m := utilvalidation.IsDNS1035Label(strings.ToLower(pk.Kind)); len(m) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("kind"), pk.Kind, "may have mixed case, but should otherwise match: "+strings.Join(m, ",")))
	}
	return errs
}

// ValidatingAdmissionPolicyBinding validates a binding on create: a policy
// name, an optional paramRef (name xor selector, a not-found action), match
// resources and validation actions.
func ValidatingAdmissionPolicyBinding(b *admissionv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	return append(policyBinding(b), staticSuffix(b.Name)...)
}

// ValidatingAdmissionPolicyBindingUpdate validates an update: the new
// binding as on create, without the reserved-name check. As upstream,
// metadata update rules are left to the registry.
func ValidatingAdmissionPolicyBindingUpdate(b, old *admissionv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	return policyBinding(b)
}

// bindingCommon checks what validating and mutating policy bindings share:
// metadata, the policy name, the paramRef and the match resources.
func bindingCommon(meta *metav1.ObjectMeta, policyName string, ref *admissionv1.ParamRef, match *admissionv1.MatchResources, fp *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(meta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	if policyName == "" {
		errs = append(errs, field.Required(fp.Child("policyName"), ""))
	} else {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, policyName, fp.Child("policyName"))...)
	}
	errs = append(errs, paramRef(ref, fp.Child("paramRef"))...)
	return append(errs, matchResources(match, fp.Child("matchResources"))...)
}

func policyBinding(b *admissionv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	spec, fp := &b.Spec, field.NewPath("spec")
	errs := bindingCommon(&b.ObjectMeta, spec.PolicyName, spec.ParamRef, spec.MatchResources, fp)
	ap := fp.Child("validationActions")
	seen := map[admissionv1.ValidationAction]bool{}
	for i, a := range spec.ValidationActions {
		if !containsValue(validationActions, string(a)) {
			errs = append(errs, field.NotSupported(ap.Index(i), a, validationActions))
		}
		if seen[a] {
			errs = append(errs, field.Duplicate(ap.Index(i), a))
		}
		seen[a] = true
	}
	if seen[admissionv1.Deny] && seen[admissionv1.Warn] {
		errs = append(errs, field.Invalid(ap, spec.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if len(seen) == 0 {
		errs = append(errs, field.Required(ap, "at least one validation action is required"))
	}
	return errs
}

func paramRef(pr *admissionv1.ParamRef, fldPath *field.Path) field.ErrorList {
	if pr == nil {
		return nil
	}
	const exclusive = "name and selector are mutually exclusive"
	var errs field.ErrorList
	if pr.Name != "" {
		errs = append(errs, msgs(fldPath.Child("name"), pr.Name, content.IsPathSegmentName(pr.Name))...)
		if pr.Selector != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("name"), exclusive))
		}
	}
	if pr.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(pr.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
		if pr.Name != "" {
			errs = append(errs, field.Forbidden(fldPath.Child("selector"), exclusive))
		}
	}
	if pr.Name == "" && pr.Selector == nil {
		errs = append(errs, field.Required(fldPath, "one of name or selector must be specified"))
	}
	if a := pr.ParameterNotFoundAction; a == nil || *a == "" {
		errs = append(errs, field.Required(fldPath.Child("parameterNotFoundAction"), ""))
	} else if !containsValue(notFoundActions, string(*a)) {
		errs = append(errs, field.NotSupported(fldPath.Child("parameterNotFoundAction"), *a, notFoundActions))
	}
	return errs
}
