package podautoscaler

import (
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	scalefake "k8s.io/client-go/scale/fake"
	core "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// TestReconcileWithMetrics drives one HPA through a scale up, a scale down
// held back by the stabilization window, and the scale down once it passed.
func TestReconcileWithMetrics(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)},
			}}},
		},
	}
	client := fake.NewClientset(hpa)
	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods().Informer().GetIndexer()
	for _, name := range []string{"a", "b", "c", "d"} {
		if err := pods.Add(testPod(name, true)); err != nil {
			t.Fatal(err)
		}
	}
	// The target: a Deployment whose scale the fake keeps.
	replicas := int32(4)
	scales := &scalefake.FakeScaleClient{}
	scales.AddReactor("get", "deployments", func(core.Action) (bool, runtime.Object, error) {
		return true, &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
			Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
			Status:     autoscalingv1.ScaleStatus{Replicas: replicas, Selector: "app=x"},
		}, nil
	})
	scales.AddReactor("update", "deployments", func(a core.Action) (bool, runtime.Object, error) {
		s := a.(core.UpdateAction).GetObject().(*autoscalingv1.Scale)
		replicas = s.Spec.Replicas
		return true, s, nil
	})
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}})
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	metrics := fakeMetrics{}
	clk := testingclock.NewFakeClock(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	events := record.NewFakeRecorder(100)
	c, err := New(Config{
		Client: client, HPAs: factory.Autoscaling().V2().HorizontalPodAutoscalers(), Pods: factory.Core().V1().Pods(),
		Scales: scales, Mapper: mapper, Metrics: metrics, Events: events, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	step := func(usage int64) *autoscalingv2.HorizontalPodAutoscaler {
		t.Helper()
		for _, p := range []string{"a", "b", "c", "d"} {
			metrics[p] = usage
		}
		cur, err := client.AutoscalingV2().HorizontalPodAutoscalers("ns").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.reconcile(ctx, "ns/web", cur); err != nil {
			t.Fatal(err)
		}
		got, err := client.AutoscalingV2().HorizontalPodAutoscalers("ns").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	wantCondition := func(h *autoscalingv2.HorizontalPodAutoscaler, typ autoscalingv2.HorizontalPodAutoscalerConditionType, reason string) {
		t.Helper()
		for _, cond := range h.Status.Conditions {
			if cond.Type == typ {
				if cond.Reason != reason {
					t.Errorf("%s reason %s, want %s", typ, cond.Reason, reason)
				}
				return
			}
		}
		t.Errorf("no %s condition, want reason %s", typ, reason)
	}

	// 4 pods at 100% of their requests against 50%: 8 replicas.
	h := step(100)
	if replicas != 8 || h.Status.DesiredReplicas != 8 || h.Status.CurrentReplicas != 4 {
		t.Fatalf("replicas %d, status %+v; want 8", replicas, h.Status)
	}
	wantCondition(h, autoscalingv2.ScalingActive, "ValidMetricFound")
	wantCondition(h, autoscalingv2.AbleToScale, "SucceededRescale")
	wantCondition(h, autoscalingv2.ScalingLimited, "DesiredWithinRange")
	if e := <-events.Events; e != "Normal SuccessfulRescale New size: 8; reason: cpu resource utilization (percentage of request) above target" {
		t.Errorf("event %q", e)
	}
	if h.Status.CurrentMetrics[0].Resource == nil || *h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization != 100 {
		t.Errorf("current metrics %+v, want 100%% cpu", h.Status.CurrentMetrics)
	}

	// Usage drops to 25%: the proposal is 2, but 8 was recommended within
	// the last 5 minutes.
	clk.Step(time.Minute)
	h = step(25)
	if replicas != 8 {
		t.Errorf("replicas %d within the stabilization window, want 8", replicas)
	}
	wantCondition(h, autoscalingv2.AbleToScale, "ScaleDownStabilized")

	clk.Step(5 * time.Minute)
	h = step(25)
	if replicas != 2 || h.Status.DesiredReplicas != 2 {
		t.Errorf("replicas %d after the window, status %+v; want 2", replicas, h.Status)
	}
	wantCondition(h, autoscalingv2.ScalingLimited, "DesiredWithinRange")

	// 400%: 16 replicas, but the scale-up limit allows max(2*2, 4) = 4.
	h = step(400)
	if replicas != 4 {
		t.Errorf("replicas %d, want 4", replicas)
	}
	wantCondition(h, autoscalingv2.ScalingLimited, "ScaleUpLimit")
}
