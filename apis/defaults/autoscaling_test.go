package defaults

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestHorizontalPodAutoscaler(t *testing.T) {
	cpu80 := []autoscalingv2.MetricSpec{{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name:   corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(80))},
		},
	}}
	memory := []autoscalingv2.MetricSpec{{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name:   corev1.ResourceMemory,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: new(q("100Mi"))},
		},
	}}
	upPolicies := []autoscalingv2.HPAScalingPolicy{
		{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
		{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
	}
	downPolicies := []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}
	custom := []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}

	runCases(t, HorizontalPodAutoscaler, []defaultCase[autoscalingv2.HorizontalPodAutoscaler]{{
		name: "no metrics: minReplicas 1 and 80% CPU, no behavior",
		in:   autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5}},
		want: autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MaxReplicas: 5, MinReplicas: new(int32(1)), Metrics: cpu80,
		}},
	}, {
		name: "metrics and minReplicas kept",
		in: autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MinReplicas: new(int32(2)), Metrics: memory,
		}},
		want: autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MinReplicas: new(int32(2)), Metrics: memory,
		}},
	}, {
		name: "empty behavior gets both rule sets",
		in:   autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}}},
		want: autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MinReplicas: new(int32(1)),
			Metrics:     cpu80,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: new(int32(0)),
					SelectPolicy:               new(autoscalingv2.MaxChangePolicySelect),
					Policies:                   upPolicies,
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					SelectPolicy: new(autoscalingv2.MaxChangePolicySelect),
					Policies:     downPolicies,
				},
			},
		}},
	}, {
		name: "partial rules completed, set fields kept",
		in: autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			Metrics: memory,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{Policies: custom, Tolerance: new(q("0.05"))},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: new(int32(60)),
					SelectPolicy:               new(autoscalingv2.DisabledPolicySelect),
				},
			},
		}},
		want: autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MinReplicas: new(int32(1)),
			Metrics:     memory,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: new(int32(0)),
					SelectPolicy:               new(autoscalingv2.MaxChangePolicySelect),
					Policies:                   custom,
					Tolerance:                  new(q("0.05")),
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: new(int32(60)),
					SelectPolicy:               new(autoscalingv2.DisabledPolicySelect),
					Policies:                   downPolicies,
				},
			},
		}},
	}, {
		name: "an empty, non-nil policy list is kept",
		in: autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			Metrics: memory,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}},
			},
		}},
		want: autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MinReplicas: new(int32(1)),
			Metrics:     memory,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: new(int32(0)),
					SelectPolicy:               new(autoscalingv2.MaxChangePolicySelect),
					Policies:                   upPolicies,
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					SelectPolicy: new(autoscalingv2.MaxChangePolicySelect),
					Policies:     []autoscalingv2.HPAScalingPolicy{},
				},
			},
		}},
	}})
}

func TestHorizontalPodAutoscalerV1(t *testing.T) {
	const otherMetrics = `[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}}]`
	runCases(t, HorizontalPodAutoscalerV1, []defaultCase[autoscalingv1.HorizontalPodAutoscaler]{{
		name: "minReplicas 1 and 80% CPU",
		in:   autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3}},
		want: autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			MaxReplicas: 3, MinReplicas: new(int32(1)), TargetCPUUtilizationPercentage: new(int32(80)),
		}},
	}, {
		name: "set fields kept",
		in: autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			MinReplicas: new(int32(2)), TargetCPUUtilizationPercentage: new(int32(50)),
		}},
		want: autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			MinReplicas: new(int32(2)), TargetCPUUtilizationPercentage: new(int32(50)),
		}},
	}, {
		name: "metrics in the annotation: no CPU target",
		in: autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"autoscaling.alpha.kubernetes.io/metrics": otherMetrics}},
		},
		want: autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"autoscaling.alpha.kubernetes.io/metrics": otherMetrics}},
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{MinReplicas: new(int32(1))},
		},
	}, {
		name: "empty metrics list in the annotation: CPU target",
		in: autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"autoscaling.alpha.kubernetes.io/metrics": "[]"}},
		},
		want: autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"autoscaling.alpha.kubernetes.io/metrics": "[]"}},
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{MinReplicas: new(int32(1)), TargetCPUUtilizationPercentage: new(int32(80))},
		},
	}})
}
