package validation

import (
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/util/webhook"
)

// staticConfigSuffix ends names reserved for manifest-based admission
// configuration (ManifestBasedAdmissionControlConfig is beta and on in 1.37).
const staticConfigSuffix = ".static.k8s.io"

var (
	// admissionReviewVersions are the AdmissionReview versions a webhook
	// must accept at least one of.
	admissionReviewVersions = []string{"v1", "v1beta1"}
	failurePolicies         = []string{string(admissionv1.Fail), string(admissionv1.Ignore)}
	matchPolicies           = []string{string(admissionv1.Equivalent), string(admissionv1.Exact)}
	allSideEffects          = []string{string(admissionv1.SideEffectClassNone), string(admissionv1.SideEffectClassNoneOnDryRun), string(admissionv1.SideEffectClassSome), string(admissionv1.SideEffectClassUnknown)}
	noSideEffects           = []string{string(admissionv1.SideEffectClassNone), string(admissionv1.SideEffectClassNoneOnDryRun)}
	reinvocationPolicies    = []string{string(admissionv1.IfNeededReinvocationPolicy), string(admissionv1.NeverReinvocationPolicy)}
)

// webhookOptions relax the create rules for what the old object already had.
type webhookOptions struct {
	ignoreMatchConditions  bool // match conditions unchanged: skip them
	requireNoSideEffects   bool // only None and NoneOnDryRun allowed
	requireKnownReviewVer  bool // need v1 or v1beta1 among admissionReviewVersions
	requireUniqueNames     bool
	allowInvalidLabelValue bool // selectors keep invalid label values
}

var strictWebhookOptions = webhookOptions{requireNoSideEffects: true, requireKnownReviewVer: true, requireUniqueNames: true}

// hook is the part of a validating or mutating webhook that is validated;
// reinvocationPolicy is nil for validating webhooks.
type hook struct {
	name                    string
	rules                   []admissionv1.RuleWithOperations
	failurePolicy           *admissionv1.FailurePolicyType
	matchPolicy             *admissionv1.MatchPolicyType
	sideEffects             *admissionv1.SideEffectClass
	timeoutSeconds          *int32
	namespaceSelector       *metav1.LabelSelector
	objectSelector          *metav1.LabelSelector
	reinvocationPolicy      *admissionv1.ReinvocationPolicyType
	clientConfig            admissionv1.WebhookClientConfig
	matchConditions         []admissionv1.MatchCondition
	admissionReviewVersions []string
}

func validatingHooks(list []admissionv1.ValidatingWebhook) []hook {
	out := make([]hook, len(list))
	for i, w := range list {
		out[i] = hook{w.Name, w.Rules, w.FailurePolicy, w.MatchPolicy, w.SideEffects, w.TimeoutSeconds,
			w.NamespaceSelector, w.ObjectSelector, nil, w.ClientConfig, w.MatchConditions, w.AdmissionReviewVersions}
	}
	return out
}

func mutatingHooks(list []admissionv1.MutatingWebhook) []hook {
	out := make([]hook, len(list))
	for i, w := range list {
		out[i] = hook{w.Name, w.Rules, w.FailurePolicy, w.MatchPolicy, w.SideEffects, w.TimeoutSeconds,
			w.NamespaceSelector, w.ObjectSelector, w.ReinvocationPolicy, w.ClientConfig, w.MatchConditions, w.AdmissionReviewVersions}
	}
	return out
}

// ValidatingWebhookConfiguration validates a ValidatingWebhookConfiguration
// on create. Match condition expressions are checked for presence only:
// kubelite does not compile CEL.
func ValidatingWebhookConfiguration(c *admissionv1.ValidatingWebhookConfiguration) field.ErrorList {
	errs := webhookConfiguration(&c.ObjectMeta, validatingHooks(c.Webhooks), strictWebhookOptions)
	return append(errs, staticSuffix(c.Name)...)
}

// ValidatingWebhookConfigurationUpdate validates an update. Rules the old
// object already broke (side effects, review versions, duplicate names,
// selector values) stay tolerated, and unchanged match conditions are not
// rechecked. As upstream, metadata update rules are left to the registry.
func ValidatingWebhookConfigurationUpdate(c, old *admissionv1.ValidatingWebhookConfiguration) field.ErrorList {
	return webhookConfiguration(&c.ObjectMeta, validatingHooks(c.Webhooks), updateWebhookOptions(validatingHooks(c.Webhooks), validatingHooks(old.Webhooks)))
}

// MutatingWebhookConfiguration validates a MutatingWebhookConfiguration on
// create, as ValidatingWebhookConfiguration plus the reinvocation policy.
func MutatingWebhookConfiguration(c *admissionv1.MutatingWebhookConfiguration) field.ErrorList {
	errs := webhookConfiguration(&c.ObjectMeta, mutatingHooks(c.Webhooks), strictWebhookOptions)
	return append(errs, staticSuffix(c.Name)...)
}

// MutatingWebhookConfigurationUpdate validates an update, with the same
// tolerances as ValidatingWebhookConfigurationUpdate.
func MutatingWebhookConfigurationUpdate(c, old *admissionv1.MutatingWebhookConfiguration) field.ErrorList {
	return webhookConfiguration(&c.ObjectMeta, mutatingHooks(c.Webhooks), updateWebhookOptions(mutatingHooks(c.Webhooks), mutatingHooks(old.Webhooks)))
}

func staticSuffix(name string) field.ErrorList {
	if !strings.HasSuffix(name, staticConfigSuffix) {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), name,
		fmt.Sprintf("names ending with %q are reserved for static manifest-based configurations and cannot be managed via the API", staticConfigSuffix))}
}

// updateWebhookOptions derives the update tolerances from the old hooks.
func updateWebhookOptions(hooks, old []hook) webhookOptions {
	opts := webhookOptions{ignoreMatchConditions: len(hooks) == len(old), requireNoSideEffects: true, requireKnownReviewVer: true, requireUniqueNames: true}
	names := map[string]bool{}
	for i, h := range old {
		if opts.ignoreMatchConditions && !equality.Semantic.DeepEqual(hooks[i].matchConditions, h.matchConditions) {
			opts.ignoreMatchConditions = false
		}
		if h.sideEffects == nil || !containsValue(noSideEffects, string(*h.sideEffects)) {
			opts.requireNoSideEffects = false
		}
		if len(h.admissionReviewVersions) > 0 && !hasKnownReviewVersion(h.admissionReviewVersions) {
			opts.requireKnownReviewVer = false
		}
		if names[h.name] {
			opts.requireUniqueNames = false
		}
		names[h.name] = true
		for _, sel := range []*metav1.LabelSelector{h.namespaceSelector, h.objectSelector} {
			if sel != nil && len(metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
				opts.allowInvalidLabelValue = true
			}
		}
	}
	return opts
}

func hasKnownReviewVersion(versions []string) bool {
	for _, v := range versions {
		if containsValue(admissionReviewVersions, v) {
			return true
		}
	}
	return false
}

func webhookConfiguration(meta *metav1.ObjectMeta, hooks []hook, opts webhookOptions) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(meta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	names := map[string]bool{}
	for i := range hooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, webhookHook(&hooks[i], opts, p)...)
		errs = append(errs, reviewVersions(hooks[i].admissionReviewVersions, opts.requireKnownReviewVer, p.Child("admissionReviewVersions"))...)
		if name := hooks[i].name; opts.requireUniqueNames && name != "" {
			if names[name] {
				errs = append(errs, field.Duplicate(p.Child("name"), name))
			}
			names[name] = true
		}
	}
	return errs
}

func webhookHook(h *hook, opts webhookOptions, fldPath *field.Path) field.ErrorList {
	errs := utilvalidation.IsFullyQualifiedName(fldPath.Child("name"), h.name)
	for i := range h.rules {
		errs = append(errs, ruleWithOperations(&h.rules[i], fldPath.Child("rules").Index(i))...)
	}
	if p := h.failurePolicy; p != nil && !containsValue(failurePolicies, string(*p)) {
		errs = append(errs, field.NotSupported(fldPath.Child("failurePolicy"), *p, failurePolicies))
	}
	if p := h.matchPolicy; p != nil && !containsValue(matchPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(fldPath.Child("matchPolicy"), *p, matchPolicies))
	}
	allowed := allSideEffects
	if opts.requireNoSideEffects {
		allowed = noSideEffects
	}
	if h.sideEffects == nil {
		errs = append(errs, field.Required(fldPath.Child("sideEffects"), "must specify one of "+strings.Join(allowed, ", ")))
	} else if !containsValue(allowed, string(*h.sideEffects)) {
		errs = append(errs, field.NotSupported(fldPath.Child("sideEffects"), *h.sideEffects, allowed))
	}
	if t := h.timeoutSeconds; t != nil && (*t > 30 || *t < 1) {
		errs = append(errs, field.Invalid(fldPath.Child("timeoutSeconds"), *t, "the timeout value must be between 1 and 30 seconds"))
	}
	selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValue}
	if h.namespaceSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.namespaceSelector, selOpts, fldPath.Child("namespaceSelector"))...)
	}
	if h.objectSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.objectSelector, selOpts, fldPath.Child("objectSelector"))...)
	}
	if p := h.reinvocationPolicy; p != nil && !containsValue(reinvocationPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(fldPath.Child("reinvocationPolicy"), *p, reinvocationPolicies))
	}
	errs = append(errs, clientConfig(&h.clientConfig, fldPath.Child("clientConfig"))...)
	if !opts.ignoreMatchConditions {
		errs = append(errs, matchConditions(h.matchConditions, fldPath.Child("matchConditions"))...)
	}
	return errs
}

// clientConfig requires exactly one of an https URL without user info,
// fragment or query, and a service reference.
func clientConfig(cc *admissionv1.WebhookClientConfig, fldPath *field.Path) field.ErrorList {
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		return field.ErrorList{field.Required(fldPath, "exactly one of url or service is required")}
	case cc.URL != nil:
		return webhook.ValidateWebhookURL(fldPath.Child("url"), *cc.URL, true)
	}
	var port int32
	if cc.Service.Port != nil {
		port = *cc.Service.Port
	}
	// Upstream passes name and namespace swapped, so an empty name is
	// reported at service.namespace and vice versa; kept for identical errors.
	return webhook.ValidateWebhookService(fldPath.Child("service"), cc.Service.Name, cc.Service.Namespace, cc.Service.Path, port)
}

// reviewVersions requires unique DNS-1035 versions, at least one known
// when required.
func reviewVersions(versions []string, requireKnown bool, fldPath *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(fldPath, "must specify one of "+strings.Join(admissionReviewVersions, ", "))}
	}
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, v := range versions {
		if seen[v] {
			errs = append(errs, field.Invalid(fldPath.Index(i), v, "duplicate version"))
			continue
		}
		seen[v] = true
		errs = append(errs, msgs(fldPath.Index(i), v, utilvalidation.IsDNS1035Label(v))...)
	}
	if requireKnown && !hasKnownReviewVersion(versions) {
		errs = append(errs, field.Invalid(fldPath, versions, "must include at least one of "+strings.Join(admissionReviewVersions, ", ")))
	}
	return errs
}

// matchConditions checks at most 64 conditions with unique qualified names
// and non-blank expressions. The expressions are not compiled.
func matchConditions(list []admissionv1.MatchCondition, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(list) > 64 {
		errs = append(errs, field.TooMany(fldPath, len(list), 64))
	}
	names := map[string]bool{}
	for i, mc := range list {
		p := fldPath.Index(i)
		if strings.TrimSpace(mc.Expression) == "" {
			errs = append(errs, field.Required(p.Child("expression"), ""))
		}
		if mc.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, qualifiedName(mc.Name, p.Child("name"))...)
			if names[mc.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), mc.Name))
			}
			names[mc.Name] = true
		}
	}
	return errs
}
