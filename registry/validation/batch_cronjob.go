package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// timeZonePart is one slash-separated element of an IANA zone name.
var timeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// cronJobNameMax leaves room for the 11-character suffix of job names.
const cronJobNameMax = utilvalidation.DNS1035LabelMaxLength - 11

// CronJob validates a CronJob on create: the schedule parses as a standard
// cron expression without TZ=/CRON_TZ= (use timeZone), timeZone is a known
// IANA zone, concurrencyPolicy is known, and the job template is valid.
func CronJob(cj *batchv1.CronJob) field.ErrorList {
	errs := objectMeta(&cj.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, cronJobSpec(&cj.Spec, nil, field.NewPath("spec"))...)
	if len(cj.Name) > cronJobNameMax {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, fmt.Sprintf("must be no more than %d characters", cronJobNameMax)))
	}
	return errs
}

// CronJobUpdate validates a CronJob update. A schedule that already used
// TZ may keep it; an unchanged timeZone is not re-checked.
func CronJobUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	errs := objectMetaUpdate(&cj.ObjectMeta, &old.ObjectMeta)
	return append(errs, cronJobSpec(&cj.Spec, &old.Spec, field.NewPath("spec"))...)
}

// CronJobStatusUpdate validates a write to a CronJob's status; upstream
// checks only the metadata.
func CronJobStatusUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	return objectMetaUpdate(&cj.ObjectMeta, &old.ObjectMeta)
}

func cronJobSpec(spec, old *batchv1.CronJobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	sp := fldPath.Child("schedule")
	if spec.Schedule == "" {
		errs = append(errs, field.Required(sp, ""))
	} else {
		allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
		errs = append(errs, schedule(spec.Schedule, allowTZ, spec.TimeZone, sp)...)
	}
	errs = append(errs, optNonNegative(spec.StartingDeadlineSeconds, fldPath.Child("startingDeadlineSeconds"))...)
	if old == nil || !apiequality.Semantic.DeepEqual(old.TimeZone, spec.TimeZone) {
		errs = append(errs, timeZone(spec.TimeZone, fldPath.Child("timeZone"))...)
	}
	errs = append(errs, oneOf(spec.ConcurrencyPolicy, []batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent}, fldPath.Child("concurrencyPolicy"))...)
	jp := fldPath.Child("jobTemplate", "spec")
	jt := &spec.JobTemplate.Spec
	errs = append(errs, jobSpecCommon(jt, jp)...)
	if jt.Selector != nil {
		errs = append(errs, field.Invalid(jp.Child("selector"), jt.Selector, "`selector` will be auto-generated"))
	}
	if jt.ManualSelector != nil && *jt.ManualSelector {
		errs = append(errs, field.NotSupported(jp.Child("manualSelector"), jt.ManualSelector, []string{"nil", "false"}))
	}
	errs = append(errs, optNonNegative(spec.SuccessfulJobsHistoryLimit, fldPath.Child("successfulJobsHistoryLimit"))...)
	return append(errs, optNonNegative(spec.FailedJobsHistoryLimit, fldPath.Child("failedJobsHistoryLimit"))...)
}

// schedule checks a cron expression the way the CronJob controller parses it.
func schedule(s string, allowTZ bool, tz *string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if err := parseCron(s); err != nil {
		errs = append(errs, field.Invalid(fldPath, s, err.Error()))
	}
	switch hasTZ := strings.Contains(s, "TZ"); {
	case allowTZ && hasTZ && tz != nil:
		errs = append(errs, field.Invalid(fldPath, s, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && hasTZ:
		errs = append(errs, field.Invalid(fldPath, s, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// parseCron parses a standard cron expression; the parser panics on some
// inputs, which are reported as errors.
func parseCron(s string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid schedule format: %v", r)
		}
	}()
	_, err = cron.ParseStandard(s)
	return err
}

// timeZone checks an optional IANA time zone name.
func timeZone(tz *string, fldPath *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(fldPath, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, tz, "unknown time zone "+*tz)}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(fldPath, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(fldPath, tz, err.Error()))
	}
	return errs
}
