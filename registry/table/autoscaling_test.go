package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestAutoscalingColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"horizontalpodautoscalers", HorizontalPodAutoscalers(), []col{str("Name"), str("Reference"), str("Targets"), str("MinPods"), str("MaxPods"), str("Replicas"), str("Age")}},
	})
}

func TestHorizontalPodAutoscalerCells(t *testing.T) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: ago(48 * time.Hour)},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    10,
			Metrics:        []autoscalingv2.MetricSpec{cpuUtilization(80)},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: []autoscalingv2.MetricStatus{cpuUtilizationStatus(50)}},
	}
	row := rowOf(t, HorizontalPodAutoscalers(), hpa)
	if diff := cmp.Diff([]interface{}{"web", "Deployment/web", "cpu: 50%/80%", "2", int64(10), int64(3), "2d"}, row.Cells); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}

	hpa.Spec.MinReplicas, hpa.Spec.Metrics, hpa.Status = nil, nil, autoscalingv2.HorizontalPodAutoscalerStatus{}
	row = rowOf(t, HorizontalPodAutoscalers(), hpa)
	if diff := cmp.Diff([]interface{}{"web", "Deployment/web", "<none>", "<unset>", int64(10), int64(0), "2d"}, row.Cells); diff != "" {
		t.Errorf("cells without metrics (-want +got):\n%s", diff)
	}
}

func cpuUtilization(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)},
	}}
}

func cpuUtilizationStatus(percent int32) autoscalingv2.MetricStatus {
	return autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
		Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To(percent)},
	}}
}

func TestHPATargets(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	avg := func(s string) autoscalingv2.MetricTarget {
		return autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q(s)}
	}
	value := func(s string) autoscalingv2.MetricTarget {
		return autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q(s)}
	}
	metric := autoscalingv2.MetricIdentifier{Name: "queue_depth"}

	memory := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: avg("200Mi")}}
	memoryStatus := autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceMemory, Current: autoscalingv2.MetricValueStatus{AverageValue: q("100Mi")}}}
	autoCPU := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU}}
	containerCPU := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)}}}
	containerCPUStatus := autoscalingv2.MetricStatus{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{
		Name: corev1.ResourceCPU, Container: "app", Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](75)}}}
	containerMemory := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceMemory, Container: "app", Target: avg("1Gi")}}
	pods := autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: metric, Target: avg("10")}}
	podsStatus := autoscalingv2.MetricStatus{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Metric: metric, Current: autoscalingv2.MetricValueStatus{AverageValue: q("7500m")}}}
	objectAvg := autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Metric: metric, Target: avg("30")}}
	objectAvgStatus := autoscalingv2.MetricStatus{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{Metric: metric, Current: autoscalingv2.MetricValueStatus{AverageValue: q("12")}}}
	objectValue := autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Metric: metric, Target: value("2k")}}
	objectValueStatus := autoscalingv2.MetricStatus{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{Metric: metric, Current: autoscalingv2.MetricValueStatus{Value: q("1500")}}}
	externalAvg := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: metric, Target: avg("5")}}
	externalValue := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: metric, Target: value("100")}}
	externalValueStatus := autoscalingv2.MetricStatus{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Metric: metric, Current: autoscalingv2.MetricValueStatus{Value: q("42")}}}
	externalAvgStatusWithoutAvg := autoscalingv2.MetricStatus{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Metric: metric, Current: autoscalingv2.MetricValueStatus{Value: q("42")}}}

	tests := []struct {
		name     string
		specs    []autoscalingv2.MetricSpec
		statuses []autoscalingv2.MetricStatus
		want     string
	}{
		{"no metrics", nil, nil, "<none>"},
		{"cpu utilization", []autoscalingv2.MetricSpec{cpuUtilization(80)}, []autoscalingv2.MetricStatus{cpuUtilizationStatus(50)}, "cpu: 50%/80%"},
		{"cpu without status", []autoscalingv2.MetricSpec{cpuUtilization(80)}, nil, "cpu: <unknown>/80%"},
		{"cpu status without utilization", []autoscalingv2.MetricSpec{cpuUtilization(80)}, []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU}}}, "cpu: <unknown>/80%"},
		{"cpu status of another type", []autoscalingv2.MetricSpec{cpuUtilization(80)}, []autoscalingv2.MetricStatus{podsStatus}, "cpu: <unknown>/80%"},
		{"resource without target", []autoscalingv2.MetricSpec{autoCPU}, nil, "cpu: <unknown>/<auto>"},
		{"memory average value", []autoscalingv2.MetricSpec{memory}, []autoscalingv2.MetricStatus{memoryStatus}, "memory: 100Mi/200Mi"},
		{"memory average value without status", []autoscalingv2.MetricSpec{memory}, nil, "memory: <unknown>/200Mi"},
		{"container resource utilization", []autoscalingv2.MetricSpec{containerCPU}, []autoscalingv2.MetricStatus{containerCPUStatus}, "cpu: 75%/60%"},
		{"container resource average value", []autoscalingv2.MetricSpec{containerMemory}, nil, "memory: <unknown>/1Gi"},
		{"pods", []autoscalingv2.MetricSpec{pods}, []autoscalingv2.MetricStatus{podsStatus}, "7500m/10"},
		{"pods without status", []autoscalingv2.MetricSpec{pods}, nil, "<unknown>/10"},
		{"object average", []autoscalingv2.MetricSpec{objectAvg}, []autoscalingv2.MetricStatus{objectAvgStatus}, "12/30 (avg)"},
		{"object value", []autoscalingv2.MetricSpec{objectValue}, []autoscalingv2.MetricStatus{objectValueStatus}, "1500/2k"},
		{"object value without status", []autoscalingv2.MetricSpec{objectValue}, nil, "<unknown>/2k"},
		{"external average without status", []autoscalingv2.MetricSpec{externalAvg}, nil, "<unknown>/5 (avg)"},
		{"external average, status without average", []autoscalingv2.MetricSpec{externalAvg}, []autoscalingv2.MetricStatus{externalAvgStatusWithoutAvg}, "<unknown>/5 (avg)"},
		{"external value", []autoscalingv2.MetricSpec{externalValue}, []autoscalingv2.MetricStatus{externalValueStatus}, "42/100"},
		{"unknown type", []autoscalingv2.MetricSpec{{Type: "Custom"}}, nil, "<unknown type>"},
		{"type without its source", []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType}}, nil, "<unknown type>"},
		{"two metrics, statuses by position", []autoscalingv2.MetricSpec{cpuUtilization(80), memory}, []autoscalingv2.MetricStatus{cpuUtilizationStatus(95), memoryStatus}, "cpu: 95%/80%, memory: 100Mi/200Mi"},
		{"more than two", []autoscalingv2.MetricSpec{cpuUtilization(80), memory, pods, objectAvg}, nil, "cpu: <unknown>/80%, memory: <unknown>/200Mi + 2 more..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hpaTargets(tt.specs, tt.statuses); got != tt.want {
				t.Errorf("hpaTargets = %q, want %q", got, tt.want)
			}
		})
	}
}
