package podautoscaler_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestHorizontalPodAutoscaler runs the HPA controller in a real server,
// which serves no resource metrics API.
func TestHorizontalPodAutoscaler(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:     t.TempDir(),
		Simulated:   app.SimulatedNodesConfig{Count: 1},
		Controllers: app.ControllersConfig{HPASyncPeriod: 2 * time.Second},
	})
	c := s.Client
	ctx := context.Background()

	t.Run("no metrics API", func(t *testing.T) {
		t.Parallel()
		ns := "hpa-nometrics"
		s.CreateNamespace(t, ns)
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, deployment("web", 2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		createHPA(t, c, ns, "web", ref("apps/v1", "Deployment", "web"), 1, 5, cpuUtilization(50))
		msg := "failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: " +
			"the server could not find the requested resource (get pods.metrics.k8s.io)"
		hpa := waitHPA(t, c, ns, "web", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
			return hasCondition(h, autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetResourceMetric", "the HPA was unable to compute the replica count: "+msg)
		})
		if !hasCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale") {
			t.Errorf("conditions %+v, want AbleToScale True SucceededGetScale", hpa.Status.Conditions)
		}
		if hpa.Status.CurrentReplicas != 2 {
			t.Errorf("currentReplicas %d, want 2", hpa.Status.CurrentReplicas)
		}
		waitEvent(t, c, ns, "web", "FailedGetResourceMetric", msg)
		waitEvent(t, c, ns, "web", "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: "+msg)
	})

	t.Run("bounds through the scale subresource", func(t *testing.T) {
		t.Parallel()
		ns := "hpa-bounds"
		s.CreateNamespace(t, ns)
		labels := map[string]string{"app": "x"}
		template := corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, deployment("deploy", 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "rs"},
			Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](6), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "sts"},
			Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().ReplicationControllers(ns).Create(ctx, &corev1.ReplicationController{
			ObjectMeta: metav1.ObjectMeta{Name: "rc"},
			Spec:       corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](1), Selector: labels, Template: &template},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			target     autoscalingv2.CrossVersionObjectReference
			gr         schema.GroupResource
			from, to   int32
			reason     string
			minR, maxR int32
		}{
			{ref("apps/v1", "Deployment", "deploy"), schema.GroupResource{Group: "apps", Resource: "deployments"}, 1, 3, "Current number of replicas below Spec.MinReplicas", 3, 5},
			{ref("apps/v1", "ReplicaSet", "rs"), schema.GroupResource{Group: "apps", Resource: "replicasets"}, 6, 4, "Current number of replicas above Spec.MaxReplicas", 2, 4},
			{ref("apps/v1", "StatefulSet", "sts"), schema.GroupResource{Group: "apps", Resource: "statefulsets"}, 1, 2, "Current number of replicas below Spec.MinReplicas", 2, 4},
			{ref("v1", "ReplicationController", "rc"), schema.GroupResource{Resource: "replicationcontrollers"}, 1, 2, "Current number of replicas below Spec.MinReplicas", 2, 4},
		} {
			name := tc.target.Name
			createHPA(t, c, ns, name, tc.target, tc.minR, tc.maxR, cpuUtilization(50))
			hpa := waitHPA(t, c, ns, name, func(h *autoscalingv2.HorizontalPodAutoscaler) bool { return h.Status.DesiredReplicas == tc.to })
			if hpa.Status.CurrentReplicas != tc.from || hpa.Status.LastScaleTime == nil ||
				!hasCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale", "the HPA controller was able to update the target scale to "+itoa(tc.to)) {
				t.Errorf("%s: status %+v", name, hpa.Status)
			}
			sc, err := c.AppsV1().Deployments(ns).GetScale(ctx, "deploy", metav1.GetOptions{})
			if tc.gr.Resource == "deployments" && (err != nil || sc.Spec.Replicas != tc.to) {
				t.Errorf("deployment scale %+v, %v; want %d replicas", sc, err, tc.to)
			}
			waitEvent(t, c, ns, name, "SuccessfulRescale", "New size: "+itoa(tc.to)+"; reason: "+tc.reason)
		}
	})

	t.Run("missing target", func(t *testing.T) {
		t.Parallel()
		ns := "hpa-missing"
		s.CreateNamespace(t, ns)
		createHPA(t, c, ns, "ghost", ref("apps/v1", "Deployment", "ghost"), 1, 3, cpuUtilization(50))
		waitHPA(t, c, ns, "ghost", func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
			return hasCondition(h, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale",
				`the HPA controller was unable to get the target's current scale: deployments.apps "ghost" not found`)
		})
		waitEvent(t, c, ns, "ghost", "FailedGetScale", `deployments.apps "ghost" not found`)
	})
}

func itoa(i int32) string { return resource.NewQuantity(int64(i), resource.DecimalSI).String() }

func ref(apiVersion, kind, name string) autoscalingv2.CrossVersionObjectReference {
	return autoscalingv2.CrossVersionObjectReference{APIVersion: apiVersion, Kind: kind, Name: name}
}

func cpuUtilization(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &percent},
	}}
}

func createHPA(t *testing.T, c kubernetes.Interface, ns, name string, target autoscalingv2.CrossVersionObjectReference, minR, maxR int32, metrics ...autoscalingv2.MetricSpec) {
	t.Helper()
	_, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: target, MinReplicas: &minR, MaxReplicas: maxR, Metrics: metrics,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
			},
		},
	}
}

func hasCondition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType, status corev1.ConditionStatus, reason, msg string) bool {
	for _, c := range h.Status.Conditions {
		if c.Type == t {
			return c.Status == status && c.Reason == reason && c.Message == msg
		}
	}
	return false
}

func waitHPA(t *testing.T, c kubernetes.Interface, ns, name string, done func(*autoscalingv2.HorizontalPodAutoscaler) bool) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	var h *autoscalingv2.HorizontalPodAutoscaler
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		h, err = c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && done(h), nil
	})
	if err != nil {
		t.Fatalf("hpa %s/%s: status %+v: %v", ns, name, h.Status, err)
	}
	return h
}

func waitEvent(t *testing.T, c kubernetes.Interface, ns, name, reason, msg string) {
	t.Helper()
	selector := fields.Set{"involvedObject.kind": "HorizontalPodAutoscaler", "involvedObject.name": name, "reason": reason}.AsSelector().String()
	var got []string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			return false, nil
		}
		got = got[:0]
		for _, e := range events.Items {
			got = append(got, e.Message)
			if e.Message == msg {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("hpa %s/%s: no %s event %q; got %q", ns, name, reason, msg, got)
	}
}
