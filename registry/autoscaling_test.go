package registry_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/apis"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestAutoscalerVersions serves horizontal pod autoscalers through
// autoscaling/v1 and autoscaling/v2 from one store: what v1 cannot express
// survives a v1 read-modify-write in the round-trip annotations.
func TestAutoscalerVersions(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	s.CreateNamespace(t, "hpa")
	v1c := s.Client.AutoscalingV1().HorizontalPodAutoscalers("hpa")
	v2c := s.Client.AutoscalingV2().HorizontalPodAutoscalers("hpa")
	ref := autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}

	t.Run("discovery", func(t *testing.T) {
		groups, err := s.Client.Discovery().ServerGroups()
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups.Groups {
			if g.Name == "autoscaling" && (g.PreferredVersion.Version != "v2" || len(g.Versions) != 2) {
				t.Errorf("autoscaling group %+v, want v2 preferred beside v1", g)
			}
		}
		l, err := s.Client.Discovery().ServerResourcesForGroupVersion("autoscaling/v1")
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(l.APIResources, func(r metav1.APIResource) bool { return r.Name == "horizontalpodautoscalers" })
		if i < 0 || !slices.Equal(l.APIResources[i].ShortNames, []string{"hpa"}) || l.APIResources[i].Kind != "HorizontalPodAutoscaler" {
			t.Fatalf("autoscaling/v1 resources: %+v", l.APIResources)
		}
		doc, err := s.Client.CoreV1().RESTClient().Get().AbsPath("/openapi/v3/apis/autoscaling/v1").DoRaw(ctx)
		if err != nil || !strings.Contains(string(doc), `"io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"`) {
			t.Errorf("OpenAPI v3 of autoscaling/v1 lacks the autoscaler: %v", err)
		}
	})

	t.Run("create through v1, read through v2", func(t *testing.T) {
		created, err := v1c.Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "from-v1"},
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 4, TargetCPUUtilizationPercentage: ptr.To[int32](50)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if created.Spec.MinReplicas == nil || *created.Spec.MinReplicas != 1 || len(created.Annotations) != 0 {
			t.Errorf("created through v1: %+v", created)
		}
		got, err := v2c.Get(ctx, "from-v1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}}
		if diff := cmp.Diff(want, got.Spec.Metrics); diff != "" || got.Spec.ScaleTargetRef.Name != "web" {
			t.Errorf("v2 metrics (-want +got):\n%s", diff)
		}

		// A v1 autoscaler naming no metric gets upstream's 80% CPU target.
		if _, err := v1c.Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "bare"},
			Spec:       autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 4},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		bare, err := v2c.Get(ctx, "bare", metav1.GetOptions{})
		if err != nil || len(bare.Spec.Metrics) != 1 || *bare.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 {
			t.Errorf("bare v1 autoscaler through v2: %v %v", bare, err)
		}
	})

	t.Run("a v2 autoscaler survives a v1 update", func(t *testing.T) {
		in := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "from-v2", Annotations: map[string]string{
				// Sent by a client through v2: not the client's to set, dropped.
				apis.HPAMetricsAnnotation: `[{"type":"Pods","pods":{"metricName":"x","targetAverageValue":"1"}}]`,
			}},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference(ref),
				MaxReplicas:    6,
				Metrics: []autoscalingv2.MetricSpec{
					{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
						Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("256Mi"))}}},
					{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
						Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}},
				},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
					ScaleDown: &autoscalingv2.HPAScalingRules{
						StabilizationWindowSeconds: ptr.To[int32](120),
						Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}},
					},
				},
			},
		}
		created, err := v2c.Create(ctx, in, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(created.Annotations) != 0 {
			t.Errorf("v2 create kept round-trip annotations: %v", created.Annotations)
		}
		created.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{
			Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound", LastTransitionTime: metav1.Now(),
		}}
		created.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceMemory, Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("100Mi"))}}}}
		created, err = v2c.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}

		old, err := v1c.Get(ctx, "from-v2", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p := old.Spec.TargetCPUUtilizationPercentage; p == nil || *p != 70 {
			t.Errorf("v1 targetCPUUtilizationPercentage %v, want 70", p)
		}
		for _, k := range []string{apis.HPAMetricsAnnotation, apis.HPABehaviorAnnotation, apis.HPAConditionsAnnotation, apis.HPACurrentMetricsAnnotation} {
			if old.Annotations[k] == "" {
				t.Errorf("v1 read lacks %s: %v", k, old.Annotations)
			}
		}
		if !strings.Contains(old.Annotations[apis.HPAMetricsAnnotation], `"memory"`) {
			t.Errorf("metrics annotation %s", old.Annotations[apis.HPAMetricsAnnotation])
		}

		old.Spec.MaxReplicas = 9
		old.Labels = map[string]string{"through": "v1"}
		updated, err := v1c.Update(ctx, old, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if updated.Spec.MaxReplicas != 9 || updated.Annotations[apis.HPABehaviorAnnotation] != old.Annotations[apis.HPABehaviorAnnotation] {
			t.Errorf("v1 update answered %+v", updated)
		}

		got, err := v2c.Get(ctx, "from-v2", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.MaxReplicas != 9 || got.Labels["through"] != "v1" || len(got.Annotations) != 0 {
			t.Errorf("after the v1 update: maxReplicas %d, labels %v, annotations %v", got.Spec.MaxReplicas, got.Labels, got.Annotations)
		}
		if !equality.Semantic.DeepEqual(created.Spec.Metrics, got.Spec.Metrics) {
			t.Errorf("metrics changed:\n%s", cmp.Diff(created.Spec.Metrics, got.Spec.Metrics))
		}
		if !equality.Semantic.DeepEqual(created.Spec.Behavior, got.Spec.Behavior) {
			t.Errorf("behavior changed:\n%s", cmp.Diff(created.Spec.Behavior, got.Spec.Behavior))
		}
		if !equality.Semantic.DeepEqual(created.Status, got.Status) {
			t.Errorf("status changed:\n%s", cmp.Diff(created.Status, got.Status))
		}
	})

	t.Run("list, watch, patch and apply through v1", func(t *testing.T) {
		l, err := v1c.List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) < 3 {
			t.Fatalf("v1 list: %v %v", l, err)
		}
		w, err := v1c.Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion, FieldSelector: "metadata.name=from-v1"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if _, err := v1c.Patch(ctx, "from-v1", types.StrategicMergePatchType, []byte(`{"spec":{"targetCPUUtilizationPercentage":60}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-w.ResultChan():
			hpa, ok := ev.Object.(*autoscalingv1.HorizontalPodAutoscaler)
			if ev.Type != watch.Modified || !ok || *hpa.Spec.TargetCPUUtilizationPercentage != 60 {
				t.Errorf("watch event %s %#v", ev.Type, ev.Object)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no watch event through v1")
		}
		applied := `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"from-v1"},"spec":{"maxReplicas":8,"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"}}}`
		got, err := v1c.Patch(ctx, "from-v1", types.ApplyPatchType, []byte(applied), metav1.PatchOptions{FieldManager: "tester", Force: ptr.To(true)})
		if err != nil {
			t.Fatalf("apply through v1: %v", err)
		}
		if got.Spec.MaxReplicas != 8 || *got.Spec.TargetCPUUtilizationPercentage != 60 {
			t.Errorf("after apply: %+v", got.Spec)
		}
	})

	t.Run("both versions print the same columns", func(t *testing.T) {
		var headers []string
		for _, path := range []string{"/apis/autoscaling/v1/namespaces/hpa/horizontalpodautoscalers", "/apis/autoscaling/v2/namespaces/hpa/horizontalpodautoscalers"} {
			table := &metav1.Table{}
			err := s.Client.CoreV1().RESTClient().Get().AbsPath(path).
				SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(table)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range table.ColumnDefinitions {
				names = append(names, c.Name)
			}
			if headers == nil {
				headers = names
			} else if !slices.Equal(headers, names) {
				t.Errorf("columns %v at %s, %v at v1", names, path, headers)
			}
			if !slices.Equal(names, []string{"Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"}) {
				t.Errorf("columns %v", names)
			}
		}
	})
}
