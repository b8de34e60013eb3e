package validation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podFailurePolicy validates spec.podFailurePolicy.
func podFailurePolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rulesPath := fldPath.Child("rules")
	rules := spec.PodFailurePolicy.Rules
	if len(rules) > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxPodFailurePolicyRules))
	}
	names := map[string]bool{}
	for _, c := range spec.Template.Spec.Containers {
		names[c.Name] = true
	}
	for _, c := range spec.Template.Spec.InitContainers {
		names[c.Name] = true
	}
	for i := range rules {
		errs = append(errs, podFailurePolicyRule(spec, &rules[i], names, rulesPath.Index(i))...)
	}
	return errs
}

func podFailurePolicyRule(spec *batchv1.JobSpec, rule *batchv1.PodFailurePolicyRule, names map[string]bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	ap := fldPath.Child("action")
	switch {
	case rule.Action == "":
		errs = append(errs, field.Required(ap, fmt.Sprintf("valid values: %q", podFailureActions)))
	case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Invalid(ap, rule.Action, "requires the backoffLimitPerIndex to be set"))
		}
	case !slices.Contains(podFailureActions, rule.Action):
		errs = append(errs, field.NotSupported(ap, rule.Action, podFailureActions))
	}
	if ec := rule.OnExitCodes; ec != nil {
		errs = append(errs, onExitCodes(ec, names, fldPath.Child("onExitCodes"))...)
	}
	if pcs := rule.OnPodConditions; len(pcs) > 0 {
		pp := fldPath.Child("onPodConditions")
		if len(pcs) > maxPodConditionPatterns {
			errs = append(errs, field.TooMany(pp, len(pcs), maxPodConditionPatterns))
		}
		for j, pc := range pcs {
			errs = append(errs, qualifiedName(string(pc.Type), pp.Index(j).Child("type"))...)
			sp := pp.Index(j).Child("status")
			if pc.Status == "" {
				errs = append(errs, field.Required(sp, fmt.Sprintf("valid values: %q", conditionStatuses)))
			} else if !slices.Contains(conditionStatuses, pc.Status) {
				errs = append(errs, field.NotSupported(sp, pc.Status, conditionStatuses))
			}
		}
	}
	switch hasCodes, hasConds := rule.OnExitCodes != nil, len(rule.OnPodConditions) > 0; {
	case hasCodes && hasConds:
		errs = append(errs, field.Invalid(fldPath, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
	case !hasCodes && !hasConds:
		errs = append(errs, field.Invalid(fldPath, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
	}
	return errs
}

func onExitCodes(ec *batchv1.PodFailurePolicyOnExitCodesRequirement, names map[string]bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	op := fldPath.Child("operator")
	if ec.Operator == "" {
		errs = append(errs, field.Required(op, fmt.Sprintf("valid values: %q", exitCodeOperators)))
	} else if !slices.Contains(exitCodeOperators, ec.Operator) {
		errs = append(errs, field.NotSupported(op, ec.Operator, exitCodeOperators))
	}
	if ec.ContainerName != nil && !names[*ec.ContainerName] {
		errs = append(errs, field.Invalid(fldPath.Child("containerName"), *ec.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	vp := fldPath.Child("values")
	if len(ec.Values) == 0 {
		errs = append(errs, field.Invalid(vp, ec.Values, "at least one value is required"))
	} else if len(ec.Values) > maxExitCodeValues {
		errs = append(errs, field.TooMany(vp, len(ec.Values), maxExitCodeValues))
	}
	seen := map[int32]bool{}
	ordered := true
	for j, v := range ec.Values {
		if ec.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			errs = append(errs, field.Invalid(vp.Index(j), v, "must not be 0 for the In operator"))
		}
		if seen[v] {
			errs = append(errs, field.Duplicate(vp.Index(j), v))
		}
		seen[v] = true
		if j > 0 && ec.Values[j-1] > v {
			ordered = false
		}
	}
	if !ordered {
		errs = append(errs, field.Invalid(vp, ec.Values, "must be ordered"))
	}
	return errs
}

// successPolicy validates spec.successPolicy of an indexed job.
func successPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rp := fldPath.Child("rules")
	rules := spec.SuccessPolicy.Rules
	if len(rules) == 0 {
		errs = append(errs, field.Required(rp, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		errs = append(errs, field.TooMany(rp, len(rules), maxSuccessPolicyRules))
	}
	completions := deref32(spec.Completions)
	for i, r := range rules {
		p := rp.Index(i)
		if r.SucceededCount == nil && r.SucceededIndexes == nil {
			errs = append(errs, field.Required(p, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if r.SucceededIndexes != nil {
			ip := p.Child("succeededIndexes")
			if len(*r.SucceededIndexes) > maxSucceededIndexesLength {
				errs = append(errs, field.TooLong(ip, "", maxSucceededIndexesLength))
			}
			var err error
			if total, err = parseIndexes(*r.SucceededIndexes, completions); err != nil {
				errs = append(errs, field.Invalid(ip, *r.SucceededIndexes, "error parsing succeededIndexes: "+err.Error()))
			}
		}
		if c := r.SucceededCount; c != nil {
			cp := p.Child("succeededCount")
			errs = append(errs, nonNegative(int64(*c), cp)...)
			if *c > completions {
				errs = append(errs, field.Invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if r.SucceededIndexes != nil && *c > total {
				errs = append(errs, field.Invalid(cp, *c, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// parseIndexes checks an index list such as "1,3-5,7" against the number
// of completions and returns how many indexes it names.
func parseIndexes(s string, completions int32) (int32, error) {
	if s == "" {
		return 0, nil
	}
	var total int32
	last := int32(-1)
	for _, interval := range strings.Split(s, ",") {
		x, y, err := parseInterval(interval, completions)
		if err != nil {
			return 0, err
		}
		if last >= x {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", last, x)
		}
		total += y - x + 1
		last = y
	}
	return total, nil
}

// parseInterval parses "x" or "x-y" with x < y < completions.
func parseInterval(s string, completions int32) (int32, int32, error) {
	parts := strings.Split(s, "-")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", s)
	}
	var bounds [2]int32
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil {
			return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", part)
		}
		if n >= int(completions) {
			return 0, 0, fmt.Errorf("too large index: %q", part)
		}
		bounds[i] = int32(n)
	}
	if len(parts) == 1 {
		return bounds[0], bounds[0], nil
	}
	if bounds[0] >= bounds[1] {
		return 0, 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", bounds[0], bounds[1])
	}
	return bounds[0], bounds[1], nil
}

// indexesOverlap reports the first index named by both lists, walking
// their valid intervals in order as upstream does.
func indexesOverlap(completed, failed string, completions int32) error {
	if completed == "" || failed == "" {
		return nil
	}
	c, f := intervals(completed, completions), intervals(failed, completions)
	for i, j := 0, 0; i < len(c) && j < len(f); {
		if c[i][0] <= f[j][1] && f[j][0] <= c[i][1] {
			return fmt.Errorf("failedIndexes and completedIndexes overlap at index: %d", max(c[i][0], f[j][0]))
		}
		if c[i][0] <= f[j][0] {
			i++
		} else {
			j++
		}
	}
	return nil
}

// intervals returns the parseable intervals of an index list.
func intervals(s string, completions int32) [][2]int32 {
	var out [][2]int32
	for _, iv := range strings.Split(s, ",") {
		if x, y, err := parseInterval(iv, completions); err == nil {
			out = append(out, [2]int32{x, y})
		}
	}
	return out
}
