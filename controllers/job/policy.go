package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// failureVerdict is what a Job's pod failure policy says about one failed
// pod: the rule's action (empty when no rule matched), whether the failure
// counts against the back-off limit, and, for FailJob, the message the Job
// fails with.
type failureVerdict struct {
	action  batchv1.PodFailurePolicyAction
	counts  bool
	message string
}

// judgeFailure applies the Job's pod failure policy to a failed pod: the
// first rule that matches decides. Without a policy or a matching rule the
// failure counts.
func judgeFailure(j *batchv1.Job, p *corev1.Pod) failureVerdict {
	policy := j.Spec.PodFailurePolicy
	if policy == nil {
		return failureVerdict{counts: true}
	}
	for i, rule := range policy.Rules {
		var message string
		switch {
		case rule.OnExitCodes != nil:
			cs := matchExitCodes(p, rule.OnExitCodes)
			if cs == nil {
				continue
			}
			message = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
				cs.Name, p.Namespace, p.Name, cs.State.Terminated.ExitCode, rule.Action, i)
		case len(rule.OnPodConditions) > 0:
			cond := matchConditions(p, rule.OnPodConditions)
			if cond == nil {
				continue
			}
			message = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
				p.Namespace, p.Name, cond.Type, rule.Action, i)
		default:
			continue
		}
		v := failureVerdict{action: rule.Action, counts: rule.Action != batchv1.PodFailurePolicyActionIgnore}
		if rule.Action == batchv1.PodFailurePolicyActionFailJob {
			v.message = message
		}
		return v
	}
	return failureVerdict{counts: true}
}

// matchExitCodes returns the first terminated container (regular ones,
// then init ones) whose non-zero exit code the requirement matches.
func matchExitCodes(p *corev1.Pod, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			term := cs.State.Terminated
			if term == nil || term.ExitCode == 0 || (req.ContainerName != nil && *req.ContainerName != cs.Name) {
				continue
			}
			in := slices.Contains(req.Values, term.ExitCode)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in &&
				(req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn || req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn) {
				return cs
			}
		}
	}
	return nil
}

// matchConditions returns the first pod condition that one of the patterns
// matches.
func matchConditions(p *corev1.Pod, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		for _, pat := range patterns {
			if c.Type == pat.Type && c.Status == pat.Status {
				return c
			}
		}
	}
	return nil
}

// failJobMessage returns the message of the first failed pod that a
// FailJob rule matches, or "".
func failJobMessage(j *batchv1.Job, pods []*corev1.Pod) string {
	if j.Spec.PodFailurePolicy == nil {
		return ""
	}
	for _, p := range pods {
		if isFailed(p, j) {
			if v := judgeFailure(j, p); v.message != "" {
				return v.message
			}
		}
	}
	return ""
}

// successPolicyMet reports whether an Indexed Job's success policy is met by
// the succeeded indexes, and the message its SuccessCriteriaMet condition
// carries: the first rule whose succeededIndexes (all of them when unset)
// hold at least succeededCount (all of them when unset) succeeded indexes.
func successPolicyMet(j *batchv1.Job, succeeded sets.Set[int]) (string, bool) {
	if j.Spec.SuccessPolicy == nil || j.Spec.Completions == nil || succeeded.Len() == 0 {
		return "", false
	}
	completions := int(*j.Spec.Completions)
	for i, rule := range j.Spec.SuccessPolicy.Rules {
		var want sets.Set[int]
		if rule.SucceededIndexes != nil {
			if want = parseIndexes(*rule.SucceededIndexes, completions); want.Len() == 0 {
				continue
			}
		}
		got := 0
		if want == nil {
			got = succeeded.Len()
		} else {
			got = succeeded.Intersection(want).Len()
		}
		switch {
		case rule.SucceededCount != nil && got >= int(*rule.SucceededCount):
		case rule.SucceededCount == nil && want != nil && got == want.Len():
		default:
			continue
		}
		return fmt.Sprintf("Matched rules at index %d", i), true
	}
	return "", false
}
