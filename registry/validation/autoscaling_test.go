package validation

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

func validHPA() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: meta(),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr(int32(1)),
			MaxReplicas:    5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(80))},
			}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr(int32(0)),
				SelectPolicy:               ptr(autoscalingv2.MaxChangePolicySelect),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
			}},
		},
	}
}

func TestHorizontalPodAutoscaler(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(h *autoscalingv2.HorizontalPodAutoscaler)
		want   []string
	}{
		{name: "valid", mutate: func(*autoscalingv2.HorizontalPodAutoscaler) {}},
		{name: "replicas", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas = ptr(int32(0))
			h.Spec.MaxReplicas = 0
		},
			want: []string{"FieldValueInvalid spec.minReplicas", "FieldValueRequired spec.maxReplicas", "FieldValueForbidden spec.metrics"}},
		{name: "max below min", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr(int32(6)) },
			want: []string{"FieldValueInvalid spec.maxReplicas"}},
		{name: "scale target ref", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Deployment", Name: "a/b"}
		}, want: []string{"FieldValueInvalid spec.scaleTargetRef.name", "FieldValueInvalid spec.scaleTargetRef.apiVersion"}},
		{name: "replication controllers are core", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "ReplicationController", Name: "web"}
		}},
		{name: "metric source mismatch", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Type = autoscalingv2.PodsMetricSourceType
		}, want: []string{"FieldValueRequired spec.metrics[0].pods"}},
		{name: "two metric sources", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Pods = &autoscalingv2.PodsMetricSource{}
		}, want: []string{
			"FieldValueRequired spec.metrics[0].pods.metric.name",
			"FieldValueRequired spec.metrics[0].pods.target.type",
			"FieldValueInvalid spec.metrics[0].pods.target.type",
			"FieldValueRequired spec.metrics[0].pods.target.averageValue",
			"FieldValueForbidden spec.metrics[0].pods",
		}},
		{name: "metric targets", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = append(h.Spec.Metrics,
				autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue"},
					Target: autoscalingv2.MetricTarget{Type: "Bogus", Value: ptr(qty("-1")), AverageValue: ptr(qty("1"))}}},
				autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: corev1.ResourceCPU, Container: "App", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType}}})
		}, want: []string{
			"FieldValueInvalid spec.metrics[1].external.target.type",
			"FieldValueInvalid spec.metrics[1].external.target.value",
			"FieldValueForbidden spec.metrics[1].external.target.value",
			"FieldValueInvalid spec.metrics[2].containerResource.container",
			"FieldValueRequired spec.metrics[2].containerResource.target.averageUtilization",
		}},
		{name: "behavior", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior.ScaleUp.StabilizationWindowSeconds = ptr(int32(4000))
			h.Spec.Behavior.ScaleUp.Policies[0] = autoscalingv2.HPAScalingPolicy{Type: "Nodes", Value: 0, PeriodSeconds: 2000}
			h.Spec.Behavior.ScaleDown = &autoscalingv2.HPAScalingRules{SelectPolicy: ptr(autoscalingv2.ScalingPolicySelect("Any"))}
		}, want: []string{
			"FieldValueInvalid spec.behavior.scaleUp.stabilizationWindowSeconds",
			"FieldValueNotSupported spec.behavior.scaleUp.policies[0].type",
			"FieldValueInvalid spec.behavior.scaleUp.policies[0].value",
			"FieldValueInvalid spec.behavior.scaleUp.policies[0].periodSeconds",
			"FieldValueNotSupported spec.behavior.scaleDown.selectPolicy",
			"FieldValueRequired spec.behavior.scaleDown.policies",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := validHPA()
			tc.mutate(h)
			checkErrs(t, HorizontalPodAutoscaler(h), tc.want)
		})
	}

	// An update keeping an invalid apiVersion is tolerated, and an old
	// minReplicas of 0 allows keeping it.
	old := validHPA()
	old.Spec.ScaleTargetRef.APIVersion = "v1"
	old.Spec.MinReplicas = ptr(int32(0))
	old.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptr(qty("10"))}}}}
	h := old.DeepCopy()
	h.Spec.MaxReplicas = 10
	checkErrs(t, HorizontalPodAutoscalerUpdate(h, old), nil)
	h.Status.DesiredReplicas = -1
	checkErrs(t, HorizontalPodAutoscalerStatusUpdate(h, old), []string{"FieldValueInvalid status.desiredReplicas"})
}
