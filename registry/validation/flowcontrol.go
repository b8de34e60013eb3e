package validation

import (
	"fmt"
	"strings"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	flowcontrolv1beta3 "k8s.io/api/flowcontrol/v1beta3"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/apiserver/pkg/util/shufflesharding"

	"github.com/kubelite/kubelite/apis/defaults"
)

// Limits and vocabularies of API priority and fairness, as upstream's.
const (
	maxMatchingPrecedence = 10000
	maxPriorityQueues     = 10 * 1000 * 1000
	flowNamespaceIntro    = "each member of this list must be '*' or a DNS-1123 label; "
)

var (
	flowVerbs            = []string{"create", "delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"}
	distinguisherMethods = []string{string(flowcontrolv1.FlowDistinguisherMethodByNamespaceType), string(flowcontrolv1.FlowDistinguisherMethodByUserType)}
	flowSubjectKinds     = []string{string(flowcontrolv1.SubjectKindGroup), string(flowcontrolv1.SubjectKindServiceAccount), string(flowcontrolv1.SubjectKindUser)}
	priorityLevelTypes   = []string{string(flowcontrolv1.PriorityLevelEnablementExempt), string(flowcontrolv1.PriorityLevelEnablementLimited)}
	limitResponseTypes   = []string{string(flowcontrolv1.LimitResponseTypeQueue), string(flowcontrolv1.LimitResponseTypeReject)}
)

// mandatoryFlowSchema returns the defaulted spec the server fixes for a
// mandatory flow schema name ("exempt", "catch-all").
func mandatoryFlowSchema(name string) (*flowcontrolv1.FlowSchemaSpec, bool) {
	for _, fs := range bootstrap.MandatoryFlowSchemas {
		if fs.Name == name {
			c := fs.DeepCopy()
			defaults.FlowSchema(c)
			return &c.Spec, true
		}
	}
	return nil, false
}

// mandatoryPriorityLevel returns the defaulted spec the server fixes for a
// mandatory priority level name ("exempt", "catch-all").
func mandatoryPriorityLevel(name string) (*flowcontrolv1.PriorityLevelConfigurationSpec, bool) {
	for _, pl := range bootstrap.MandatoryPriorityLevelConfigurations {
		if pl.Name == name {
			c := pl.DeepCopy()
			defaults.PriorityLevelConfiguration(c)
			return &c.Spec, true
		}
	}
	return nil, false
}

// FlowSchema validates a flow schema on create: a matching precedence in
// 1..10000 (1 only for "exempt"), a known distinguisher method, a priority
// level reference, rules each with subjects and resource or non-resource
// rules, the fixed spec of a mandatory schema, and unique condition types.
func FlowSchema(fs *flowcontrolv1.FlowSchema) field.ErrorList {
	errs := objectMeta(&fs.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	sp := field.NewPath("spec")
	errs = append(errs, flowSchemaSpec(fs.Name, &fs.Spec, sp)...)
	if want, ok := mandatoryFlowSchema(fs.Name); ok && !equality.Semantic.DeepEqual(fs.Spec, *want) {
		errs = append(errs, field.Invalid(sp, fs.Spec, fmt.Sprintf("spec of '%s' must equal the fixed value", fs.Name)))
	}
	return append(errs, flowConditionTypes(flowSchemaConditionTypes(fs), field.NewPath("status"))...)
}

// FlowSchemaUpdate validates an update as a create.
func FlowSchemaUpdate(fs, old *flowcontrolv1.FlowSchema) field.ErrorList {
	return FlowSchema(fs)
}

// FlowSchemaStatusUpdate validates a write to the status: condition types
// present and unique.
func FlowSchemaStatusUpdate(fs, old *flowcontrolv1.FlowSchema) field.ErrorList {
	return flowConditionTypes(flowSchemaConditionTypes(fs), field.NewPath("status"))
}

func flowSchemaConditionTypes(fs *flowcontrolv1.FlowSchema) []string {
	out := make([]string, len(fs.Status.Conditions))
	for i, c := range fs.Status.Conditions {
		out[i] = string(c.Type)
	}
	return out
}

// flowConditionTypes requires each condition's type, once.
func flowConditionTypes(types []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, t := range types {
		cp := fldPath.Child("conditions").Index(i)
		if seen[t] {
			errs = append(errs, field.Duplicate(cp.Child("type"), t))
		}
		seen[t] = true
		if t == "" {
			errs = append(errs, field.Required(cp.Child("type"), ""))
		}
	}
	return errs
}

func flowSchemaSpec(name string, spec *flowcontrolv1.FlowSchemaSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	mp := fldPath.Child("matchingPrecedence")
	if spec.MatchingPrecedence <= 0 {
		errs = append(errs, field.Invalid(mp, spec.MatchingPrecedence, "must be a positive value"))
	}
	if spec.MatchingPrecedence > maxMatchingPrecedence {
		errs = append(errs, field.Invalid(mp, spec.MatchingPrecedence, fmt.Sprintf("must not be greater than %v", maxMatchingPrecedence)))
	}
	if spec.MatchingPrecedence == 1 && name != flowcontrolv1.FlowSchemaNameExempt {
		errs = append(errs, field.Invalid(mp, spec.MatchingPrecedence, "only the schema named 'exempt' may have matchingPrecedence 1"))
	}
	if dm := spec.DistinguisherMethod; dm != nil && !containsValue(distinguisherMethods, string(dm.Type)) {
		errs = append(errs, field.NotSupported(fldPath.Child("distinguisherMethod", "type"), dm, distinguisherMethods))
	}
	pp := fldPath.Child("priorityLevelConfiguration", "name")
	if spec.PriorityLevelConfiguration.Name == "" {
		errs = append(errs, field.Required(pp, "must reference a priority level"))
	} else {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, spec.PriorityLevelConfiguration.Name, pp)...)
	}
	for i := range spec.Rules {
		errs = append(errs, flowRules(&spec.Rules[i], fldPath.Child("rules").Index(i))...)
	}
	return errs
}

func flowRules(rule *flowcontrolv1.PolicyRulesWithSubjects, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.Subjects) == 0 {
		errs = append(errs, field.Required(fldPath.Child("subjects"), "subjects must contain at least one value"))
	}
	for i := range rule.Subjects {
		errs = append(errs, flowSubject(&rule.Subjects[i], fldPath.Child("subjects").Index(i))...)
	}
	if len(rule.ResourceRules) == 0 && len(rule.NonResourceRules) == 0 {
		errs = append(errs, field.Required(fldPath, "at least one of resourceRules and nonResourceRules has to be non-empty"))
	}
	for i := range rule.ResourceRules {
		errs = append(errs, flowResourceRule(&rule.ResourceRules[i], fldPath.Child("resourceRules").Index(i))...)
	}
	for i := range rule.NonResourceRules {
		errs = append(errs, flowNonResourceRule(&rule.NonResourceRules[i], fldPath.Child("nonResourceRules").Index(i))...)
	}
	return errs
}

// flowSubject requires the member that matches the kind and forbids the
// others.
func flowSubject(s *flowcontrolv1.Subject, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	forbid := func(set bool, member, kind string) {
		if set {
			errs = append(errs, field.Forbidden(fldPath.Child(member), fmt.Sprintf("%s is forbidden when subject kind is not '%s'", member, kind)))
		}
	}
	switch s.Kind {
	case flowcontrolv1.SubjectKindServiceAccount:
		errs = append(errs, flowServiceAccount(s.ServiceAccount, fldPath.Child("serviceAccount"))...)
		forbid(s.User != nil, "user", "User")
		forbid(s.Group != nil, "group", "Group")
	case flowcontrolv1.SubjectKindUser:
		if s.User == nil {
			errs = append(errs, field.Required(fldPath.Child("user"), "user is required when subject kind is 'User'"))
		} else if s.User.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("user", "name"), ""))
		}
		forbid(s.ServiceAccount != nil, "serviceAccount", "ServiceAccount")
		forbid(s.Group != nil, "group", "Group")
	case flowcontrolv1.SubjectKindGroup:
		if s.Group == nil {
			errs = append(errs, field.Required(fldPath.Child("group"), "group is required when subject kind is 'Group'"))
		} else if s.Group.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("group", "name"), ""))
		}
		forbid(s.ServiceAccount != nil, "serviceAccount", "ServiceAccount")
		forbid(s.User != nil, "user", "User")
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("kind"), s.Kind, flowSubjectKinds))
	}
	return errs
}

func flowServiceAccount(sa *flowcontrolv1.ServiceAccountSubject, fldPath *field.Path) field.ErrorList {
	if sa == nil {
		return field.ErrorList{field.Required(fldPath, "serviceAccount is required when subject kind is 'ServiceAccount'")}
	}
	var errs field.ErrorList
	if sa.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else if sa.Name != flowcontrolv1.NameAll {
		errs = append(errs, msgs(fldPath.Child("name"), sa.Name, apimachineryvalidation.ValidateServiceAccountName(sa.Name, false))...)
	}
	if sa.Namespace == "" {
		errs = append(errs, field.Required(fldPath.Child("namespace"), "must specify namespace for service account"))
	} else {
		errs = append(errs, msgs(fldPath.Child("namespace"), sa.Namespace, apimachineryvalidation.ValidateNamespaceName(sa.Namespace, false))...)
	}
	return errs
}

// flowVerbList requires verbs that are all known, or "*" alone.
func flowVerbList(verbs []string, fldPath *field.Path) field.ErrorList {
	switch {
	case len(verbs) == 0:
		return field.ErrorList{field.Required(fldPath, "verbs must contain at least one value")}
	case containsValue(verbs, "*"):
		if len(verbs) > 1 {
			return field.ErrorList{field.Invalid(fldPath, verbs, "if '*' is present, must not specify other verbs")}
		}
	default:
		for _, v := range verbs {
			if !containsValue(flowVerbs, v) {
				return field.ErrorList{field.NotSupported(fldPath, verbs, flowVerbs)}
			}
		}
	}
	return nil
}

func flowResourceRule(r *flowcontrolv1.ResourcePolicyRule, fldPath *field.Path) field.ErrorList {
	errs := flowVerbList(r.Verbs, fldPath.Child("verbs"))
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(fldPath.Child("apiGroups"), "resource rules must supply at least one api group"))
	} else if len(r.APIGroups) > 1 && containsValue(r.APIGroups, "*") {
		errs = append(errs, field.Invalid(fldPath.Child("apiGroups"), r.APIGroups, "if '*' is present, must not specify other api groups"))
	}
	if len(r.Resources) == 0 {
		errs = append(errs, field.Required(fldPath.Child("resources"), "resource rules must supply at least one resource"))
	} else if len(r.Resources) > 1 && containsValue(r.Resources, "*") {
		errs = append(errs, field.Invalid(fldPath.Child("resources"), r.Resources, "if '*' is present, must not specify other resources"))
	}
	np := fldPath.Child("namespaces")
	switch {
	case len(r.Namespaces) == 0 && !r.ClusterScope:
		errs = append(errs, field.Required(np, "resource rules that are not cluster scoped must supply at least one namespace"))
	case containsValue(r.Namespaces, "*"):
		if len(r.Namespaces) > 1 {
			errs = append(errs, field.Invalid(np, r.Namespaces, "if '*' is present, must not specify other namespaces"))
		}
	default:
		for i, ns := range r.Namespaces {
			for _, m := range apimachineryvalidation.ValidateNamespaceName(ns, false) {
				errs = append(errs, field.Invalid(np.Index(i), ns, flowNamespaceIntro+m))
			}
		}
	}
	return errs
}

func flowNonResourceRule(r *flowcontrolv1.NonResourcePolicyRule, fldPath *field.Path) field.ErrorList {
	errs := flowVerbList(r.Verbs, fldPath.Child("verbs"))
	up := fldPath.Child("nonResourceURLs")
	switch {
	case len(r.NonResourceURLs) == 0:
		errs = append(errs, field.Required(up, "nonResourceURLs must contain at least one value"))
	case containsValue(r.NonResourceURLs, "*"):
		if len(r.NonResourceURLs) > 1 {
			errs = append(errs, field.Invalid(up, r.NonResourceURLs, "if '*' is present, must not specify other non-resource URLs"))
		}
	default:
		for i, u := range r.NonResourceURLs {
			if msg := nonResourceURLProblem(u); msg != "" {
				errs = append(errs, field.Invalid(up.Index(i), u, msg))
			}
		}
	}
	return errs
}

// nonResourceURLProblem says what is wrong with a non-resource URL path,
// which may end in "/*" to match a prefix.
func nonResourceURLProblem(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case p == "/":
		return ""
	case !strings.HasPrefix(p, "/"):
		return "must start with slash"
	case strings.Contains(p, " "):
		return "must not contain white-space"
	case strings.Contains(p, "//"):
		return "must not contain double slash"
	}
	if n := strings.Count(p, "*"); n > 1 || (n == 1 && !strings.HasSuffix(p, "/*")) {
		return "wildcard can only do suffix matching"
	}
	return ""
}

// PriorityLevelConfiguration validates a priority level on create: type
// Exempt exactly for the level named "exempt", the member of that type
// alone, limits in range, queuing whose hand fits its deck, the fixed spec
// of a mandatory level (for "exempt", all but spec.exempt), no v1beta3
// zero-shares annotation, and unique condition types.
func PriorityLevelConfiguration(pl *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	errs := objectMeta(&pl.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	if _, ok := pl.Annotations[flowcontrolv1beta3.PriorityLevelPreserveZeroConcurrencySharesKey]; ok {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations"), fmt.Sprintf("annotation '%s' is forbidden", flowcontrolv1beta3.PriorityLevelPreserveZeroConcurrencySharesKey)))
	}
	sp := field.NewPath("spec")
	errs = append(errs, priorityLevelSpec(pl.Name, &pl.Spec, sp)...)
	if want, ok := mandatoryPriorityLevel(pl.Name); ok {
		have := pl.Spec.DeepCopy()
		if pl.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt {
			have.Exempt = want.Exempt
			if !equality.Semantic.DeepEqual(*have, *want) {
				errs = append(errs, field.Invalid(sp, pl.Spec, fmt.Sprintf("spec of '%s' except the 'spec.exempt' field must equal the fixed value", pl.Name)))
			}
		} else if !equality.Semantic.DeepEqual(*have, *want) {
			errs = append(errs, field.Invalid(sp, pl.Spec, fmt.Sprintf("spec of '%s' must equal the fixed value", pl.Name)))
		}
	}
	return append(errs, flowConditionTypes(priorityLevelConditionTypes(pl), field.NewPath("status"))...)
}

// PriorityLevelConfigurationUpdate validates an update as a create.
func PriorityLevelConfigurationUpdate(pl, old *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	return PriorityLevelConfiguration(pl)
}

// PriorityLevelConfigurationStatusUpdate validates a write to the status:
// condition types present and unique.
func PriorityLevelConfigurationStatusUpdate(pl, old *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	return flowConditionTypes(priorityLevelConditionTypes(pl), field.NewPath("status"))
}

func priorityLevelConditionTypes(pl *flowcontrolv1.PriorityLevelConfiguration) []string {
	out := make([]string, len(pl.Status.Conditions))
	for i, c := range pl.Status.Conditions {
		out[i] = string(c.Type)
	}
	return out
}

func priorityLevelSpec(name string, spec *flowcontrolv1.PriorityLevelConfigurationSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if (name == flowcontrolv1.PriorityLevelConfigurationNameExempt) != (spec.Type == flowcontrolv1.PriorityLevelEnablementExempt) {
		errs = append(errs, field.Invalid(fldPath.Child("type"), spec.Type, "must be 'Exempt' if and only if `name` is 'exempt'"))
	}
	switch spec.Type {
	case flowcontrolv1.PriorityLevelEnablementExempt:
		if spec.Limited != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("limited"), "must be nil if the type is not Limited"))
		}
		if e := spec.Exempt; e != nil {
			ep := fldPath.Child("exempt")
			if s := e.NominalConcurrencyShares; s != nil && *s < 0 {
				errs = append(errs, field.Invalid(ep.Child("nominalConcurrencyShares"), *s, "must be a non-negative integer"))
			}
			errs = append(errs, percent(e.LendablePercent, ep.Child("lendablePercent"))...)
		}
	case flowcontrolv1.PriorityLevelEnablementLimited:
		if spec.Exempt != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("exempt"), "must be nil if the type is Limited"))
		}
		if spec.Limited == nil {
			errs = append(errs, field.Required(fldPath.Child("limited"), "must not be empty when type is Limited"))
		} else {
			errs = append(errs, limitedPriorityLevel(spec.Limited, fldPath.Child("limited"))...)
		}
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), spec.Type, priorityLevelTypes))
	}
	return errs
}

func percent(p *int32, fldPath *field.Path) field.ErrorList {
	if p != nil && (*p < 0 || *p > 100) {
		return field.ErrorList{field.Invalid(fldPath, *p, "must be between 0 and 100, inclusive")}
	}
	return nil
}

func limitedPriorityLevel(l *flowcontrolv1.LimitedPriorityLevelConfiguration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s := l.NominalConcurrencyShares; s != nil && *s < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("nominalConcurrencyShares"), *s, "must be a non-negative integer"))
	}
	lp := fldPath.Child("limitResponse")
	switch l.LimitResponse.Type {
	case flowcontrolv1.LimitResponseTypeReject:
		if l.LimitResponse.Queuing != nil {
			errs = append(errs, field.Forbidden(lp.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited"))
		}
	case flowcontrolv1.LimitResponseTypeQueue:
		if q := l.LimitResponse.Queuing; q == nil {
			errs = append(errs, field.Required(lp.Child("queuing"), "must not be empty if limited.limitResponse.type is Limited"))
		} else {
			errs = append(errs, queuing(q, lp.Child("queuing"))...)
		}
	case "":
		errs = append(errs, field.Required(lp.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(lp.Child("type"), l.LimitResponse.Type, limitResponseTypes))
	}
	errs = append(errs, percent(l.LendablePercent, fldPath.Child("lendablePercent"))...)
	if b := l.BorrowingLimitPercent; b != nil && *b < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("borrowingLimitPercent"), *b, "if specified, must be a non-negative integer"))
	}
	return errs
}

// queuing requires positive limits, at most 10^7 queues, and a hand no
// larger than the deck whose shuffle sharding fits in a 64-bit hash.
func queuing(q *flowcontrolv1.QueuingConfiguration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.QueueLengthLimit <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
	}
	if q.Queues <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("queues"), q.Queues, "must be positive"))
	} else if q.Queues > maxPriorityQueues {
		errs = append(errs, field.Invalid(fldPath.Child("queues"), q.Queues, fmt.Sprintf("must not be greater than %d", maxPriorityQueues)))
	}
	hp := fldPath.Child("handSize")
	switch {
	case q.HandSize <= 0:
		errs = append(errs, field.Invalid(hp, q.HandSize, "must be positive"))
	case q.HandSize > q.Queues:
		errs = append(errs, field.Invalid(hp, q.HandSize, fmt.Sprintf("should not be greater than queues (%d)", q.Queues)))
	case shufflesharding.RequiredEntropyBits(int(q.Queues), int(q.HandSize)) > shufflesharding.MaxHashBits:
		errs = append(errs, field.Invalid(hp, q.HandSize, fmt.Sprintf("required entropy bits of deckSize %d and handSize %d should not be greater than %d", q.Queues, q.HandSize, shufflesharding.MaxHashBits)))
	}
	return errs
}
