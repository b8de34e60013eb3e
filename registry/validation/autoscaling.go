package validation

import (
	"errors"
	"fmt"
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// HorizontalPodAutoscaler limits enforced by the API server.
const (
	maxHPAPeriodSeconds      = 1800
	maxHPAStabilizationDelay = 3600
)

var (
	metricSourceTypes = []autoscalingv2.MetricSourceType{autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType,
		autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType}
	selectPolicies = []autoscalingv2.ScalingPolicySelect{autoscalingv2.DisabledPolicySelect, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect}
	scalingPolicy  = []autoscalingv2.HPAScalingPolicyType{autoscalingv2.PercentScalingPolicy, autoscalingv2.PodsScalingPolicy}
)

// refOptions relaxes the apiVersion check of a cross-version reference.
type refOptions struct {
	allowInvalidAPIVersion bool
	allowEmptyGroup        bool
}

// hpaOptions mirrors the options the upstream registry derives from the
// old object. Scaling to zero (alpha gate HPAScaleToZero) is allowed only
// when the old object already had minReplicas 0.
type hpaOptions struct {
	minReplicas int32
	target      refOptions
	object      refOptions
}

func hpaOptionsFor(hpa, old *autoscalingv2.HorizontalPodAutoscaler) hpaOptions {
	opts := hpaOptions{minReplicas: 1, object: refOptions{allowEmptyGroup: true}}
	if old != nil && old.Spec.MinReplicas != nil && *old.Spec.MinReplicas == 0 {
		opts.minReplicas = 0
	}
	ref := hpa.Spec.ScaleTargetRef
	switch {
	case old != nil && old.Spec.ScaleTargetRef.APIVersion == ref.APIVersion && old.Spec.ScaleTargetRef.Kind == ref.Kind:
		opts.target.allowInvalidAPIVersion = true
	case ref.Kind == "ReplicationController":
		opts.target.allowEmptyGroup = true
	}
	if old != nil {
		for _, m := range old.Spec.Metrics {
			if m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil && apiVersionErr(m.Object.DescribedObject, opts.object) != nil {
				opts.object.allowInvalidAPIVersion = true
				break
			}
		}
	}
	return opts
}

// HorizontalPodAutoscaler validates an autoscaler on create.
func HorizontalPodAutoscaler(hpa *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	errs := objectMeta(&hpa.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, hpaSpec(&hpa.Spec, hpaOptionsFor(hpa, nil), field.NewPath("spec"))...)
}

// HorizontalPodAutoscalerUpdate validates an autoscaler update; everything
// in the spec may change as long as it stays valid.
func HorizontalPodAutoscalerUpdate(hpa, old *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	errs := objectMetaUpdate(&hpa.ObjectMeta, &old.ObjectMeta)
	return append(errs, hpaSpec(&hpa.Spec, hpaOptionsFor(hpa, old), field.NewPath("spec"))...)
}

// HorizontalPodAutoscalerStatusUpdate validates a write to the status.
func HorizontalPodAutoscalerStatusUpdate(hpa, old *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	errs := objectMetaUpdate(&hpa.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("status")
	for i, c := range hpa.Status.Conditions {
		errs = append(errs, optNonNegative(c.ObservedGeneration, p.Child("conditions").Index(i).Child("observedGeneration"))...)
	}
	return append(errs, nonNegativeCounts(p, count{"currentReplicas", int64(hpa.Status.CurrentReplicas)}, count{"desiredReplicas", int64(hpa.Status.DesiredReplicas)})...)
}

func hpaSpec(spec *autoscalingv2.HorizontalPodAutoscalerSpec, opts hpaOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinReplicas != nil && *spec.MinReplicas < opts.minReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("minReplicas"), *spec.MinReplicas, fmt.Sprintf("must be greater than or equal to %d", opts.minReplicas)))
	}
	switch mp := fldPath.Child("maxReplicas"); {
	case spec.MaxReplicas == 0:
		errs = append(errs, field.Required(mp, "must be set and greater than 0"))
	case spec.MaxReplicas < 0:
		errs = append(errs, field.Invalid(mp, spec.MaxReplicas, "must be greater than or equal to 1"))
	}
	if spec.MinReplicas != nil && spec.MaxReplicas < *spec.MinReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	errs = append(errs, crossVersionRef(spec.ScaleTargetRef, opts.target, fldPath.Child("scaleTargetRef"))...)
	mp := fldPath.Child("metrics")
	scalesToZero := false
	for i := range spec.Metrics {
		m := &spec.Metrics[i]
		errs = append(errs, metricSpec(m, opts.object, mp.Index(i))...)
		scalesToZero = scalesToZero || m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType
	}
	if spec.MinReplicas != nil && *spec.MinReplicas == 0 && !scalesToZero {
		errs = append(errs, field.Forbidden(mp, "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	if b := spec.Behavior; b != nil {
		bp := fldPath.Child("behavior")
		errs = append(errs, scalingRules(b.ScaleUp, bp.Child("scaleUp"))...)
		errs = append(errs, scalingRules(b.ScaleDown, bp.Child("scaleDown"))...)
	}
	return errs
}

// crossVersionRef checks a kind/name/apiVersion reference.
func crossVersionRef(ref autoscalingv2.CrossVersionObjectReference, opts refOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct{ name, value string }{{"kind", ref.Kind}, {"name", ref.Name}} {
		if f.value == "" {
			errs = append(errs, field.Required(fldPath.Child(f.name), ""))
		} else {
			errs = append(errs, msgs(fldPath.Child(f.name), f.value, content.IsPathSegmentName(f.value))...)
		}
	}
	if err := apiVersionErr(ref, opts); err != nil {
		errs = append(errs, field.Invalid(fldPath.Child("apiVersion"), ref.APIVersion, err.Error()))
	}
	return errs
}

func apiVersionErr(ref autoscalingv2.CrossVersionObjectReference, opts refOptions) error {
	if opts.allowInvalidAPIVersion {
		return nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return err
	}
	if !opts.allowEmptyGroup && gv.Group == "" {
		return errors.New("apiVersion must specify API group")
	}
	return nil
}

// metricSpec checks that a metric names a known source type and populates
// exactly that source.
func metricSpec(m *autoscalingv2.MetricSpec, objOpts refOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	tp := fldPath.Child("type")
	if m.Type == "" {
		errs = append(errs, field.Required(tp, "must specify a metric source type"))
	}
	if !slices.Contains(metricSourceTypes, m.Type) {
		errs = append(errs, field.NotSupported(tp, m.Type, metricSourceTypes))
	}
	sources := []struct {
		name    string
		kind    autoscalingv2.MetricSourceType
		present bool
		check   func() field.ErrorList
	}{
		{"object", autoscalingv2.ObjectMetricSourceType, m.Object != nil, func() field.ErrorList { return objectSource(m.Object, objOpts, fldPath.Child("object")) }},
		{"external", autoscalingv2.ExternalMetricSourceType, m.External != nil, func() field.ErrorList { return externalSource(m.External, fldPath.Child("external")) }},
		{"pods", autoscalingv2.PodsMetricSourceType, m.Pods != nil, func() field.ErrorList { return podsSource(m.Pods, fldPath.Child("pods")) }},
		{"resource", autoscalingv2.ResourceMetricSourceType, m.Resource != nil, func() field.ErrorList {
			return resourceSource(string(m.Resource.Name), "", m.Resource.Target, false, fldPath.Child("resource"))
		}},
		{"containerResource", autoscalingv2.ContainerResourceMetricSourceType, m.ContainerResource != nil, func() field.ErrorList {
			return resourceSource(string(m.ContainerResource.Name), m.ContainerResource.Container, m.ContainerResource.Target, true, fldPath.Child("containerResource"))
		}},
	}
	var present []string
	expected := ""
	for _, s := range sources {
		if s.present {
			present = append(present, s.name)
			if len(present) == 1 {
				errs = append(errs, s.check()...)
			}
		}
		if s.kind == m.Type {
			expected = s.name
			if !s.present {
				errs = append(errs, field.Required(fldPath.Child(s.name), "must populate information for the given metric source"))
			}
		}
	}
	if expected == "" {
		errs = append(errs, field.NotSupported(tp, m.Type, metricSourceTypes))
	}
	if len(present) != 1 {
		for _, name := range present {
			if name != expected {
				errs = append(errs, field.Forbidden(fldPath.Child(name), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

func objectSource(s *autoscalingv2.ObjectMetricSource, opts refOptions, fldPath *field.Path) field.ErrorList {
	errs := crossVersionRef(s.DescribedObject, opts, fldPath.Child("describedObject"))
	errs = append(errs, metricName(s.Metric.Name, fldPath.Child("metric", "name"))...)
	errs = append(errs, metricTarget(s.Target, fldPath.Child("target"))...)
	if s.Target.Value == nil && s.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must set either a target value or averageValue"))
	}
	return errs
}

func externalSource(s *autoscalingv2.ExternalMetricSource, fldPath *field.Path) field.ErrorList {
	errs := metricName(s.Metric.Name, fldPath.Child("metric", "name"))
	errs = append(errs, metricTarget(s.Target, fldPath.Child("target"))...)
	if s.Target.Value == nil && s.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
	}
	if s.Target.Value != nil && s.Target.AverageValue != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
	}
	return errs
}

func podsSource(s *autoscalingv2.PodsMetricSource, fldPath *field.Path) field.ErrorList {
	errs := metricName(s.Metric.Name, fldPath.Child("metric", "name"))
	errs = append(errs, metricTarget(s.Target, fldPath.Child("target"))...)
	if s.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must specify a positive target averageValue"))
	}
	return errs
}

// resourceSource checks a resource or (with container set) container
// resource metric.
func resourceSource(name, container string, t autoscalingv2.MetricTarget, isContainer bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	} else if isContainer {
		errs = append(errs, containerResourceName(corev1.ResourceName(name), fldPath.Child("name"))...)
	}
	if isContainer {
		if container == "" {
			errs = append(errs, field.Required(fldPath.Child("container"), "must specify a container"))
		} else {
			errs = append(errs, dnsLabel(container, fldPath.Child("container"))...)
		}
	}
	errs = append(errs, metricTarget(t, fldPath.Child("target"))...)
	if t.AverageUtilization == nil && t.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("target", "averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

func metricName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "must specify a metric name")}
	}
	return msgs(fldPath, name, content.IsPathSegmentName(name))
}

func metricTarget(t autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType && t.Type != autoscalingv2.AverageValueMetricType {
		errs = append(errs, field.Invalid(fldPath.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageUtilization"), t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

// scalingRules checks one direction of the scaling behavior.
func scalingRules(r *autoscalingv2.HPAScalingRules, fldPath *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), w, "must be greater than or equal to zero"))
		}
		if *w > maxHPAStabilizationDelay {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), w, fmt.Sprintf("must be less than or equal to %v", maxHPAStabilizationDelay)))
		}
	}
	if r.SelectPolicy != nil && !slices.Contains(selectPolicies, *r.SelectPolicy) {
		errs = append(errs, field.NotSupported(fldPath.Child("selectPolicy"), r.SelectPolicy, selectPolicies))
	}
	pp := fldPath.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(pp, "must specify at least one Policy"))
	}
	for i, p := range r.Policies {
		ip := pp.Index(i)
		if !slices.Contains(scalingPolicy, p.Type) {
			errs = append(errs, field.NotSupported(ip.Child("type"), p.Type, scalingPolicy))
		}
		if p.Value <= 0 {
			errs = append(errs, field.Invalid(ip.Child("value"), p.Value, notPositiveMsg))
		}
		if p.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), p.PeriodSeconds, notPositiveMsg))
		}
		if p.PeriodSeconds > maxHPAPeriodSeconds {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), p.PeriodSeconds, fmt.Sprintf("must be less than or equal to %v", maxHPAPeriodSeconds)))
		}
	}
	if r.Tolerance != nil {
		errs = append(errs, nonNegativeQuantity(*r.Tolerance, fldPath.Child("tolerance"))...)
	}
	return errs
}
