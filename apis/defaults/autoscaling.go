package defaults

import (
	"encoding/json"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// defaultCPUUtilization is the target average CPU utilization, in percent,
// of an autoscaler that names no metric.
const defaultCPUUtilization int32 = 80

// metricSpecsAnnotation holds the metrics of an autoscaling/v1 autoscaler
// that v1 cannot express as its single CPU target.
const metricSpecsAnnotation = "autoscaling.alpha.kubernetes.io/metrics"

// HorizontalPodAutoscaler defaults an autoscaling/v2 autoscaler:
//   - minReplicas 1;
//   - with no metrics, one Resource metric targeting 80% average CPU
//     utilization;
//   - when behavior is set, scaleUp and scaleDown are each completed as
//     described at scaleUpRules and scaleDownRules.
func HorizontalPodAutoscaler(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	spec := &hpa.Spec
	setIfNil(&spec.MinReplicas, int32(1))
	if len(spec.Metrics) == 0 {
		spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{
					Type:               autoscalingv2.UtilizationMetricType,
					AverageUtilization: new(defaultCPUUtilization),
				},
			},
		}}
	}
	if b := spec.Behavior; b != nil {
		setIfNil(&b.ScaleUp, autoscalingv2.HPAScalingRules{})
		scaleUpRules(b.ScaleUp)
		setIfNil(&b.ScaleDown, autoscalingv2.HPAScalingRules{})
		scaleDownRules(b.ScaleDown)
	}
}

// scaleUpRules fills the unset fields of scale-up rules with the behaviour
// autoscalers had before rules were configurable: no stabilization window,
// selectPolicy Max, and policies allowing, every 15 seconds, 4 more pods or
// double the pods. A non-nil policy list, even an empty one, is kept.
func scaleUpRules(r *autoscalingv2.HPAScalingRules) {
	setIfNil(&r.StabilizationWindowSeconds, int32(0))
	setIfNil(&r.SelectPolicy, autoscalingv2.MaxChangePolicySelect)
	if r.Policies == nil {
		r.Policies = []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}
	}
}

// scaleDownRules fills the unset fields of scale-down rules: selectPolicy Max
// and a policy allowing all pods to be removed every 15 seconds. The
// stabilization window stays unset because its default is the controller
// manager's --horizontal-pod-autoscaler-downscale-stabilization flag.
func scaleDownRules(r *autoscalingv2.HPAScalingRules) {
	setIfNil(&r.SelectPolicy, autoscalingv2.MaxChangePolicySelect)
	if r.Policies == nil {
		r.Policies = []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}
	}
}

// HorizontalPodAutoscalerV1 defaults an autoscaling/v1 autoscaler:
// minReplicas 1 and, when it names no metric at all, targetCPUUtilizationPercentage
// 80. Upstream applies the CPU target while converting v1 to its internal
// version, so a v1 autoscaler reads back with it; other metrics of a v1
// autoscaler live in the autoscaling.alpha.kubernetes.io/metrics
// annotation, and a non-empty list there means no CPU target is added.
func HorizontalPodAutoscalerV1(hpa *autoscalingv1.HorizontalPodAutoscaler) {
	setIfNil(&hpa.Spec.MinReplicas, int32(1))
	if hpa.Spec.TargetCPUUtilizationPercentage == nil && !hasAnnotatedMetrics(hpa.Annotations) {
		hpa.Spec.TargetCPUUtilizationPercentage = new(defaultCPUUtilization)
	}
}

// hasAnnotatedMetrics reports whether annotations hold a well-formed,
// non-empty list of v1 metrics; upstream ignores a malformed one.
func hasAnnotatedMetrics(annotations map[string]string) bool {
	enc, ok := annotations[metricSpecsAnnotation]
	if !ok {
		return false
	}
	var metrics []autoscalingv1.MetricSpec
	return json.Unmarshal([]byte(enc), &metrics) == nil && len(metrics) > 0
}
