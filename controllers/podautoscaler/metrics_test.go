package podautoscaler

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeMetrics serves fixed usage.
type fakeMetrics map[string]int64

func (f fakeMetrics) PodUsage(context.Context, string, labels.Selector, corev1.ResourceName) (map[string]int64, time.Time, error) {
	return f, time.Time{}, nil
}

func testPod(name string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

func TestResourceReplicas(t *testing.T) {
	fifty := int32(50)
	utilization := autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &fifty}
	average := autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewMilliQuantity(20, resource.DecimalSI)}
	for _, tc := range []struct {
		name    string
		target  autoscalingv2.MetricTarget
		pods    []*corev1.Pod
		usage   fakeMetrics
		current int32
		want    int32
		util    int32
	}{
		{"double the target", utilization, []*corev1.Pod{testPod("a", true), testPod("b", true)}, fakeMetrics{"a": 100, "b": 100}, 2, 4, 100},
		{"within tolerance", utilization, []*corev1.Pod{testPod("a", true), testPod("b", true)}, fakeMetrics{"a": 52, "b": 54}, 2, 2, 53},
		{"half the target", utilization, []*corev1.Pod{testPod("a", true), testPod("b", true), testPod("c", true), testPod("d", true)},
			fakeMetrics{"a": 25, "b": 25, "c": 25, "d": 25}, 4, 2, 25},
		// Scaling down, the pod without metrics counts as using its request:
		// (10+10+100)/300 = 40% against 50%, so 3 * 0.8 = 2.4, rounded up.
		{"missing metrics dampen a scale down", utilization, []*corev1.Pod{testPod("a", true), testPod("b", true), testPod("c", true)},
			fakeMetrics{"a": 10, "b": 10}, 3, 3, 10},
		// Scaling up, the unready pod counts as using nothing: 200/200 =
		// 100% of requests on 2 pods becomes 200/300 on 3.
		{"unready pods dampen a scale up", utilization, []*corev1.Pod{testPod("a", true), testPod("b", true), testPod("c", false)},
			fakeMetrics{"a": 100, "b": 100, "c": 100}, 3, 4, 100},
		{"average value", average, []*corev1.Pod{testPod("a", true), testPod("b", true)}, fakeMetrics{"a": 60, "b": 60}, 2, 6, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			factory := informers.NewSharedInformerFactory(client, 0)
			for _, p := range tc.pods {
				if err := factory.Core().V1().Pods().Informer().GetIndexer().Add(p); err != nil {
					t.Fatal(err)
				}
			}
			c := &Controller{pods: factory.Core().V1().Pods().Lister(), metrics: tc.usage}
			got, status, _, err := c.resourceReplicas(context.Background(), "ns", tc.current, corev1.ResourceCPU, "", tc.target,
				labels.SelectorFromSet(labels.Set{"app": "x"}))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("replicas = %d, want %d", got, tc.want)
			}
			if tc.target.AverageUtilization != nil && (status.AverageUtilization == nil || *status.AverageUtilization != tc.util) {
				t.Errorf("utilization = %v, want %d", fmt.Sprint(status.AverageUtilization), tc.util)
			}
		})
	}
}
