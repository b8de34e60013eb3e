package apis

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func ptrTo[T any](v T) *T { return &v }

// fullHPA is a v2 autoscaler using what v1 cannot express: several metric
// kinds, behavior with a tolerance, current metrics and conditions.
func fullHPA() *autoscalingv2.HorizontalPodAutoscaler {
	q := resource.MustParse
	now := metav1.Unix(1700000000, 0)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Annotations: map[string]string{"keep": "me"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptrTo[int32](2),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrTo(q("200Mi"))}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrTo(q("10"))}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "main"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "hits"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptrTo(q("2k"))}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"q": "jobs"}}},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrTo(q("30"))}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrTo[int32](60)}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrTo[int32](70)}}},
			},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptrTo[int32](0),
					SelectPolicy:               ptrTo(autoscalingv2.MaxChangePolicySelect),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}},
					Tolerance:                  ptrTo(q("50m")),
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptrTo[int32](300),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 60}},
				},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: ptrTo[int64](3),
			LastScaleTime:      &now,
			CurrentReplicas:    3,
			DesiredReplicas:    4,
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceMemory, Current: autoscalingv2.MetricValueStatus{AverageValue: ptrTo(q("150Mi"))}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageValue: ptrTo(q("120m")), AverageUtilization: ptrTo[int32](65)}}},
			},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
				{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "ReadyForNewScale", Message: "ok"},
			},
		},
	}
}

func TestHPARoundTripThroughV1(t *testing.T) {
	in := fullHPA()
	v1 := &autoscalingv1.HorizontalPodAutoscaler{}
	if err := hpaV2ToV1(in, v1); err != nil {
		t.Fatal(err)
	}
	if got := v1.Spec.TargetCPUUtilizationPercentage; got == nil || *got != 70 {
		t.Errorf("targetCPUUtilizationPercentage = %v, want 70", got)
	}
	if got := v1.Status.CurrentCPUUtilizationPercentage; got == nil || *got != 65 {
		t.Errorf("currentCPUUtilizationPercentage = %v, want 65", got)
	}
	for _, k := range []string{HPAMetricsAnnotation, HPACurrentMetricsAnnotation, HPABehaviorAnnotation, HPAConditionsAnnotation, "keep"} {
		if _, ok := v1.Annotations[k]; !ok {
			t.Errorf("v1 lacks annotation %s: %v", k, v1.Annotations)
		}
	}
	var metrics []autoscalingv1.MetricSpec
	if err := json.Unmarshal([]byte(v1.Annotations[HPAMetricsAnnotation]), &metrics); err != nil || len(metrics) != 5 {
		t.Errorf("metrics annotation holds %d metrics (%v), want the 5 that are not CPU utilization", len(metrics), err)
	}
	// The behavior annotation is in upstream's format: Go field names.
	if b := v1.Annotations[HPABehaviorAnnotation]; !strings.Contains(b, `"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15}],"Tolerance":"50m"}`) {
		t.Errorf("behavior annotation %s", b)
	}
	if in.Annotations[HPAMetricsAnnotation] != "" {
		t.Error("conversion changed its input's annotations")
	}

	back := &autoscalingv2.HorizontalPodAutoscaler{}
	hpaV1ToV2(v1, back)
	// The CPU utilization target comes back last, after the annotated metrics.
	want := fullHPA()
	want.Spec.Metrics = append(want.Spec.Metrics[:5:5], want.Spec.Metrics[5])
	if !equality.Semantic.DeepEqual(want, back) {
		t.Errorf("round trip changed the autoscaler:\n%s", cmp.Diff(want, back))
	}
}

func TestHPAV1ToV2(t *testing.T) {
	cpu := func(p int32) []autoscalingv2.MetricSpec { return []autoscalingv2.MetricSpec{cpuUtilization(p)} }
	for _, tc := range []struct {
		name        string
		in          autoscalingv1.HorizontalPodAutoscaler
		wantMetrics []autoscalingv2.MetricSpec
		wantAnn     map[string]string
	}{
		{
			name:        "cpu target",
			in:          autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{TargetCPUUtilizationPercentage: ptrTo[int32](50)}},
			wantMetrics: cpu(50),
		},
		{
			name:        "no metric at all gets the 80% CPU default",
			wantMetrics: cpu(80),
		},
		{
			name: "malformed annotations are ignored and dropped",
			in: autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
				HPAMetricsAnnotation: "{", HPABehaviorAnnotation: "[", HPAConditionsAnnotation: "x", "other": "y",
			}}},
			wantMetrics: cpu(80),
			wantAnn:     map[string]string{"other": "y"},
		},
		{
			name: "tolerance annotations are dropped",
			in: autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
				hpaScaleUpToleranceAnnotation: "1", hpaScaleDownToleranceAnnotation: "1",
			}}},
			wantMetrics: cpu(80),
			wantAnn:     map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &autoscalingv2.HorizontalPodAutoscaler{}
			hpaV1ToV2(&tc.in, out)
			if diff := cmp.Diff(tc.wantMetrics, out.Spec.Metrics); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAnn, out.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if out.Spec.Behavior != nil {
				t.Errorf("behavior %v from no or a malformed annotation", out.Spec.Behavior)
			}
		})
	}
}

// TestHPAConversionInScheme checks that the scheme converts both ways, lists
// included, and that a v2 autoscaler sent with round-trip annotations does not
// keep them in v1 output that it did not produce.
func TestHPAConversionInScheme(t *testing.T) {
	s, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	in := fullHPA()
	in.Spec.Behavior = nil
	in.Annotations[HPABehaviorAnnotation] = `{"ScaleUp":{"StabilizationWindowSeconds":5}}`
	list := &autoscalingv2.HorizontalPodAutoscalerList{Items: []autoscalingv2.HorizontalPodAutoscaler{*in}}
	out, err := s.ConvertToVersion(list, schema.GroupVersion{Group: "autoscaling", Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	v1 := out.(*autoscalingv1.HorizontalPodAutoscalerList)
	if len(v1.Items) != 1 || v1.Items[0].Annotations[HPABehaviorAnnotation] != "" {
		t.Errorf("v1 list %v", v1.Items)
	}
	hub, err := s.ConvertToVersion(&v1.Items[0], schema.GroupVersion{Group: "autoscaling", Version: runtime.APIVersionInternal})
	if err != nil {
		t.Fatal(err)
	}
	if got := hub.(*autoscalingv2.HorizontalPodAutoscaler); len(got.Spec.Metrics) != 6 || got.Spec.Behavior != nil || got.Status.Conditions[0].Reason != "ReadyForNewScale" {
		t.Errorf("back to the hub: %+v", got)
	}
}
