package validation

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Job limits enforced by the API server.
const (
	maxIndexedJobParallelism      = 100000
	maxFailedIndexes              = 100_000
	completionsSoftLimit          = 100_000
	highCompletionsParallelism    = 10_000
	highCompletionsFailedIndexes  = 10_000
	maxPodFailurePolicyRules      = 20
	maxExitCodeValues             = 255
	maxPodConditionPatterns       = 20
	maxManagedByLength            = 63
	maxSucceededIndexesLength     = 64 * 1024
	maxSuccessPolicyRules         = 20
	legacyControllerUIDLabel      = "controller-uid"
	legacyJobNameLabel            = "job-name"
	indexedCompletionRequiredWhen = "requires indexed completion mode"
)

var (
	podFailureActions   = []batchv1.PodFailurePolicyAction{batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore}
	exitCodeOperators   = []batchv1.PodFailurePolicyOnExitCodesOperator{batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn}
	conditionStatuses   = []corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown}
	replacementPolicies = []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}
)

// Job validates a Job on create. Unless manualSelector is set, the
// selector and template labels must be the ones the server generates from
// metadata.uid and metadata.name, so callers run selector generation (and
// fill metadata.uid) before validating, as the upstream registry does.
func Job(job *batchv1.Job) field.ErrorList {
	errs := objectMeta(&job.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, generatedSelector(job)...)
	errs = append(errs, jobSpec(&job.Spec, field.NewPath("spec"))...)
	return append(errs, nameAllowsCompletions(job)...)
}

// JobUpdate validates a Job update. The selector, completionMode,
// podFailurePolicy, backoffLimitPerIndex, managedBy and successPolicy are
// immutable; completions may change only for indexed jobs together with
// parallelism; the template may change only while the job is suspended and
// has not started (scheduling directives and container resources).
func JobUpdate(job, old *batchv1.Job) field.ErrorList {
	errs := objectMetaUpdate(&job.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("spec")
	spec, oldSpec := &job.Spec, &old.Spec
	errs = append(errs, jobSpec(spec, p)...)
	errs = append(errs, completionsUpdate(spec, oldSpec, p.Child("completions"))...)
	errs = append(errs, immutable(spec.Selector, oldSpec.Selector, p.Child("selector"))...)
	errs = append(errs, jobTemplateUpdate(job, old, p)...)
	errs = append(errs, immutable(spec.CompletionMode, oldSpec.CompletionMode, p.Child("completionMode"))...)
	errs = append(errs, immutable(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	errs = append(errs, immutable(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, immutable(spec.ManagedBy, oldSpec.ManagedBy, p.Child("managedBy"))...)
	errs = append(errs, immutable(spec.SuccessPolicy, oldSpec.SuccessPolicy, p.Child("successPolicy"))...)
	return append(errs, nameAllowsCompletions(job)...)
}

// generatedSelector checks the selector and template labels the server
// generated for a job without manualSelector.
func generatedSelector(job *batchv1.Job) field.ErrorList {
	if (job.Spec.ManualSelector != nil && *job.Spec.ManualSelector) || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	mp := field.NewPath("spec", "template", "metadata")
	want := map[string]string{}
	for _, l := range []struct{ key, value string }{
		{legacyControllerUIDLabel, string(job.UID)}, {legacyJobNameLabel, job.Name},
		{batchv1.ControllerUidLabel, string(job.UID)}, {batchv1.JobNameLabel, job.Name},
	} {
		errs = append(errs, hasLabel(job.Spec.Template.Labels, l.key, l.value, mp)...)
		want[l.key] = l.value
	}
	if sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !sel.Matches(labels.Set(want)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

// hasLabel requires label key with the given value at fldPath.labels.
func hasLabel(l map[string]string, key, value string, fldPath *field.Path) field.ErrorList {
	p := fldPath.Child("labels").Key(key)
	actual, ok := l[key]
	if !ok {
		return field.ErrorList{field.Required(p, fmt.Sprintf("must be '%s'", value))}
	}
	if actual != value {
		return field.ErrorList{field.Invalid(p, actual, fmt.Sprintf("must be '%s'", value))}
	}
	return nil
}

// nameAllowsCompletions checks that the host name of the last indexed pod
// is a DNS label.
func nameAllowsCompletions(job *batchv1.Job) field.ErrorList {
	if !isIndexed(&job.Spec) || job.Spec.Completions == nil || *job.Spec.Completions <= 0 {
		return nil
	}
	host := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
	if len(utilvalidation.IsDNS1123Label(host)) > 0 {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), job.Name, "will not able to create pod with invalid DNS label: "+host)}
	}
	return nil
}

func isIndexed(spec *batchv1.JobSpec) bool {
	return spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
}

// jobSpec validates a Job spec including its selector.
func jobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	errs := jobSpecCommon(spec, fldPath)
	if spec.Selector == nil {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	return errs
}

// jobSpecCommon validates the parts of a Job spec shared with CronJob job
// templates.
func jobSpecCommon(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	errs := optNonNegative(spec.Parallelism, fldPath.Child("parallelism"))
	errs = append(errs, optNonNegative(spec.Completions, fldPath.Child("completions"))...)
	errs = append(errs, optNonNegative(spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	errs = append(errs, optNonNegative(spec.BackoffLimit, fldPath.Child("backoffLimit"))...)
	errs = append(errs, optNonNegative(spec.TTLSecondsAfterFinished, fldPath.Child("ttlSecondsAfterFinished"))...)
	errs = append(errs, optNonNegative(spec.BackoffLimitPerIndex, fldPath.Child("backoffLimitPerIndex"))...)
	if spec.MaxFailedIndexes != nil {
		errs = append(errs, nonNegative(int64(*spec.MaxFailedIndexes), fldPath.Child("maxFailedIndexes"))...)
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
	}
	if spec.ManagedBy != nil {
		errs = append(errs, utilvalidation.IsDomainPrefixedPath(fldPath.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			errs = append(errs, field.TooLong(fldPath.Child("managedBy"), "", maxManagedByLength))
		}
	}
	errs = append(errs, completionMode(spec, fldPath)...)
	if spec.PodFailurePolicy != nil {
		errs = append(errs, podFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if !isIndexed(spec) {
			errs = append(errs, field.Invalid(fldPath.Child("successPolicy"), *spec.SuccessPolicy, indexedCompletionRequiredWhen))
		} else {
			errs = append(errs, successPolicy(spec, fldPath.Child("successPolicy"))...)
		}
	}
	if rp := spec.PodReplacementPolicy; rp != nil {
		allowed := replacementPolicies
		if spec.PodFailurePolicy != nil {
			allowed = replacementPolicies[:1]
		}
		if !slices.Contains(allowed, *rp) {
			errs = append(errs, field.NotSupported(fldPath.Child("podReplacementPolicy"), *rp, allowed))
		}
	}
	errs = append(errs, PodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	rp := fldPath.Child("template", "spec", "restartPolicy")
	switch policy := spec.Template.Spec.RestartPolicy; {
	case policy == corev1.RestartPolicyAlways || policy == "":
		errs = append(errs, field.Required(rp, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case policy != corev1.RestartPolicyOnFailure && policy != corev1.RestartPolicyNever:
		errs = append(errs, field.NotSupported(rp, policy, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	case spec.PodFailurePolicy != nil && policy != corev1.RestartPolicyNever:
		errs = append(errs, field.Invalid(rp, policy, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return errs
}

// completionMode checks the completion mode and the indexed-only limits.
func completionMode(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	mfi := fldPath.Child("maxFailedIndexes")
	if m := spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		errs = append(errs, field.NotSupported(fldPath.Child("completionMode"), m, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
	}
	if !isIndexed(spec) {
		if spec.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, indexedCompletionRequiredWhen))
		}
		if spec.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(mfi, *spec.MaxFailedIndexes, indexedCompletionRequiredWhen))
		}
		return errs
	}
	if spec.Completions == nil {
		errs = append(errs, field.Required(fldPath.Child("completions"), "when completion mode is Indexed"))
	}
	if spec.Parallelism != nil && *spec.Parallelism > maxIndexedJobParallelism {
		errs = append(errs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism, fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed", maxIndexedJobParallelism)))
	}
	if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
		errs = append(errs, field.Invalid(mfi, *spec.MaxFailedIndexes, "must be less than or equal to completions"))
	}
	if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexes {
		errs = append(errs, field.Invalid(mfi, *spec.MaxFailedIndexes, fmt.Sprintf("must be less than or equal to %d", maxFailedIndexes)))
	}
	if spec.Completions != nil && *spec.Completions > completionsSoftLimit && spec.BackoffLimitPerIndex != nil {
		const high = "must be less than or equal to %d when completions are above %d and used with backoff limit per index"
		if spec.MaxFailedIndexes == nil {
			errs = append(errs, field.Required(mfi, fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
		}
		if spec.Parallelism != nil && *spec.Parallelism > highCompletionsParallelism {
			errs = append(errs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism, fmt.Sprintf(high, highCompletionsParallelism, completionsSoftLimit)))
		}
		if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > highCompletionsFailedIndexes {
			errs = append(errs, field.Invalid(mfi, *spec.MaxFailedIndexes, fmt.Sprintf(high, highCompletionsFailedIndexes, completionsSoftLimit)))
		}
	}
	return errs
}

// completionsUpdate allows completions to change only for indexed jobs,
// and only to the new parallelism.
func completionsUpdate(spec, old *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	if !isIndexed(spec) {
		return immutable(spec.Completions, old.Completions, fldPath)
	}
	if apiequality.Semantic.DeepEqual(spec.Completions, old.Completions) || spec.Completions == nil {
		return nil
	}
	if spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		return field.ErrorList{field.Invalid(fldPath, spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

// jobTemplateUpdate keeps the pod template immutable, except that a
// suspended job with no active pods that never started (or was suspended
// again) may change its scheduling directives and container resources.
func jobTemplateUpdate(job, old *batchv1.Job, fldPath *field.Path) field.ErrorList {
	tmpl, oldTmpl := &job.Spec.Template, &old.Spec.Template
	suspended := old.Spec.Suspend != nil && *old.Spec.Suspend
	mutable := suspended && (old.Status.StartTime == nil || conditionTrue(old.Status.Conditions, batchv1.JobSuspended)) && old.Status.Active == 0
	if !mutable {
		return immutable(tmpl, oldTmpl, fldPath.Child("template"))
	}
	o := oldTmpl.DeepCopy()
	switch {
	case tmpl.Spec.Affinity == nil && o.Spec.Affinity != nil:
		o.Spec.Affinity.NodeAffinity = nil
		if *o.Spec.Affinity == (corev1.Affinity{}) {
			o.Spec.Affinity = nil
		}
	case tmpl.Spec.Affinity != nil && o.Spec.Affinity == nil:
		o.Spec.Affinity = &corev1.Affinity{NodeAffinity: tmpl.Spec.Affinity.NodeAffinity}
	case tmpl.Spec.Affinity != nil:
		o.Spec.Affinity.NodeAffinity = tmpl.Spec.Affinity.NodeAffinity
	}
	o.Spec.NodeSelector = tmpl.Spec.NodeSelector
	o.Spec.Tolerations = tmpl.Spec.Tolerations
	o.Annotations, o.Labels = tmpl.Annotations, tmpl.Labels
	o.Spec.SchedulingGates = tmpl.Spec.SchedulingGates
	for _, l := range []struct{ cur, old []corev1.Container }{{tmpl.Spec.Containers, o.Spec.Containers}, {tmpl.Spec.InitContainers, o.Spec.InitContainers}} {
		if len(l.cur) != len(l.old) {
			continue
		}
		for i := range l.cur {
			if l.old[i].Name == l.cur[i].Name {
				l.old[i].Resources = l.cur[i].Resources
			}
		}
	}
	return immutable(tmpl.Spec, o.Spec, fldPath.Child("template", "spec"))
}
