package resourcequota_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestResourceQuota runs the quota admission plugin and the quota
// controller in a real server: usage is charged on create, given back on
// delete and when pods finish, and requests over a hard limit are refused.
func TestResourceQuota(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:   t.TempDir(),
		Simulated: app.SimulatedNodesConfig{Count: 1},
	})
	c := s.Client
	ctx := context.Background()

	t.Run("usage and admission", func(t *testing.T) {
		t.Parallel()
		ns := "quota-usage"
		s.CreateNamespace(t, ns)
		// Objects that exist before the quota are counted when it is created.
		createConfigMap(t, c, ns, "before")
		createQuota(t, c, ns, "quota", nil, corev1.ResourceList{
			corev1.ResourcePods:                                 q("2"),
			"count/pods":                                        q("10"),
			corev1.ResourceRequestsCPU:                          q("1"),
			corev1.ResourceLimitsMemory:                         q("1Gi"),
			corev1.ResourceServices:                             q("3"),
			corev1.ResourceServicesNodePorts:                    q("2"),
			corev1.ResourceServicesLoadBalancers:                q("0"),
			corev1.ResourceConfigMaps:                           q("3"),
			"count/secrets":                                     q("1"),
			corev1.ResourcePersistentVolumeClaims:               q("1"),
			corev1.ResourceRequestsStorage:                      q("2Gi"),
			"gold.storageclass.storage.k8s.io/requests.storage": q("1Gi"),
		})
		// kube-root-ca.crt is published in every namespace.
		waitUsed(t, c, ns, "quota", corev1.ResourceList{
			corev1.ResourcePods: q("0"), "count/pods": q("0"), corev1.ResourceRequestsCPU: q("0"), corev1.ResourceLimitsMemory: q("0"),
			corev1.ResourceServices: q("0"), corev1.ResourceServicesNodePorts: q("0"), corev1.ResourceServicesLoadBalancers: q("0"),
			corev1.ResourceConfigMaps: q("2"), "count/secrets": q("0"), corev1.ResourcePersistentVolumeClaims: q("0"),
			corev1.ResourceRequestsStorage: q("0"), "gold.storageclass.storage.k8s.io/requests.storage": q("0"),
		})

		mustCreate(t, c.CoreV1().Pods(ns), pod("a", "500m", "256Mi", nil))
		mustCreate(t, c.CoreV1().Pods(ns), pod("b", "250m", "256Mi", nil))
		mustCreate(t, c.CoreV1().Services(ns), service("cluster", corev1.ServiceTypeClusterIP, 1))
		mustCreate(t, c.CoreV1().Services(ns), service("nodeport", corev1.ServiceTypeNodePort, 2))
		createConfigMap(t, c, ns, "after")
		mustCreate(t, c.CoreV1().PersistentVolumeClaims(ns), claim("gold", "gold", "1Gi"))
		want := corev1.ResourceList{
			corev1.ResourcePods: q("2"), "count/pods": q("2"), corev1.ResourceRequestsCPU: q("750m"), corev1.ResourceLimitsMemory: q("512Mi"),
			corev1.ResourceServices: q("2"), corev1.ResourceServicesNodePorts: q("2"), corev1.ResourceServicesLoadBalancers: q("0"),
			corev1.ResourceConfigMaps: q("3"), "count/secrets": q("0"), corev1.ResourcePersistentVolumeClaims: q("1"),
			corev1.ResourceRequestsStorage: q("1Gi"), "gold.storageclass.storage.k8s.io/requests.storage": q("1Gi"),
		}
		waitUsed(t, c, ns, "quota", want)

		// Over the limit: upstream's message names only what was exceeded.
		wantForbidden(t, create(c.CoreV1().Pods(ns), pod("c", "100m", "1Mi", nil)),
			"exceeded quota: quota, requested: pods=1, used: pods=2, limited: pods=2")
		wantForbidden(t, create(c.CoreV1().Services(ns), service("more-nodeports", corev1.ServiceTypeNodePort, 1)),
			"exceeded quota: quota, requested: services.nodeports=1, used: services.nodeports=2, limited: services.nodeports=2")
		wantForbidden(t, create(c.CoreV1().Services(ns), service("lb", corev1.ServiceTypeLoadBalancer, 0)),
			"exceeded quota: quota, requested: services.loadbalancers=1,services.nodeports=1, used: services.loadbalancers=0,services.nodeports=2, limited: services.loadbalancers=0,services.nodeports=2")
		wantForbidden(t, create(c.CoreV1().PersistentVolumeClaims(ns), claim("gold2", "gold", "1")),
			"exceeded quota: quota, requested: gold.storageclass.storage.k8s.io/requests.storage=1,persistentvolumeclaims=1, used: gold.storageclass.storage.k8s.io/requests.storage=1Gi,persistentvolumeclaims=1, limited: gold.storageclass.storage.k8s.io/requests.storage=1Gi,persistentvolumeclaims=1")
		// A quota on cpu requests wants every container to state one.
		wantForbidden(t, create(c.CoreV1().Pods(ns), pod("no-requests", "", "", nil)),
			"failed quota: quota: must specify limits.memory for: app; requests.cpu for: app")
		waitUsed(t, c, ns, "quota", want)

		// Deletes give usage back, and so does a pod that finished.
		if err := c.CoreV1().Pods(ns).Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().Services(ns).Delete(ctx, "nodeport", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().ConfigMaps(ns).Delete(ctx, "after", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		finish(t, c, ns, "b")
		want = quota.Add(corev1.ResourceList{}, want)
		want[corev1.ResourcePods] = q("0")
		want["count/pods"] = q("1")
		want[corev1.ResourceRequestsCPU] = q("0")
		want[corev1.ResourceLimitsMemory] = q("0")
		want[corev1.ResourceServices] = q("1")
		want[corev1.ResourceServicesNodePorts] = q("0")
		want[corev1.ResourceConfigMaps] = q("2")
		waitUsed(t, c, ns, "quota", want)
		mustCreate(t, c.CoreV1().Pods(ns), pod("c", "100m", "1Mi", nil))
	})

	t.Run("scopes", func(t *testing.T) {
		t.Parallel()
		ns := "quota-scopes"
		s.CreateNamespace(t, ns)
		pods := corev1.ResourceList{corev1.ResourcePods: q("1")}
		for _, scope := range []corev1.ResourceQuotaScope{
			corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
			corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		} {
			createQuota(t, c, ns, strings.ToLower(string(scope)), []corev1.ResourceQuotaScope{scope}, pods)
			waitUsed(t, c, ns, strings.ToLower(string(scope)), corev1.ResourceList{corev1.ResourcePods: q("0")})
		}
		mustCreate(t, c.CoreV1().Pods(ns), pod("besteffort", "", "", nil))
		mustCreate(t, c.CoreV1().Pods(ns), pod("terminating", "10m", "", ptr.To[int64](600)))
		for scope, used := range map[string]string{"besteffort": "1", "notbesteffort": "1", "terminating": "1", "notterminating": "1"} {
			waitUsed(t, c, ns, scope, corev1.ResourceList{corev1.ResourcePods: q(used)})
		}
		wantForbidden(t, create(c.CoreV1().Pods(ns), pod("besteffort2", "", "", nil)),
			"requested: pods=1, used: pods=1, limited: pods=1") // besteffort or notterminating
		if err := c.CoreV1().Pods(ns).Delete(ctx, "besteffort", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		for scope, used := range map[string]string{"besteffort": "0", "notbesteffort": "1", "terminating": "1", "notterminating": "0"} {
			waitUsed(t, c, ns, scope, corev1.ResourceList{corev1.ResourcePods: q(used)})
		}
	})

	t.Run("count of other resources", func(t *testing.T) {
		t.Parallel()
		ns := "quota-count"
		s.CreateNamespace(t, ns)
		createQuota(t, c, ns, "quota", nil, corev1.ResourceList{"count/deployments.apps": q("1"), "count/nosuchthings.example.com": q("1")})
		waitUsed(t, c, ns, "quota", corev1.ResourceList{"count/deployments.apps": q("0")})
		mustCreate(t, c.AppsV1().Deployments(ns), deployment("one"))
		waitUsed(t, c, ns, "quota", corev1.ResourceList{"count/deployments.apps": q("1")})
		wantForbidden(t, create(c.AppsV1().Deployments(ns), deployment("two")),
			"exceeded quota: quota, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1")
		if err := c.AppsV1().Deployments(ns).Delete(ctx, "one", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, c, ns, "quota", corev1.ResourceList{"count/deployments.apps": q("0")})
	})

	t.Run("count of custom resources", func(t *testing.T) {
		t.Parallel()
		ns := "quota-custom"
		s.CreateNamespace(t, ns)
		crds := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()
		_, err := crds.Create(ctx, &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "widgets.quota.example.com"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "quota.example.com",
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget"},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: ptr.To(true),
					}},
				}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		widgets := dynamic.NewForConfigOrDie(s.Config).Resource(schema.GroupVersionResource{Group: "quota.example.com", Version: "v1", Resource: "widgets"}).Namespace(ns)
		widget := func(name string) *unstructured.Unstructured {
			return &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "quota.example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": name},
			}}
		}
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := widgets.Create(ctx, widget("before"), metav1.CreateOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("create a widget: %v", err)
		}
		createQuota(t, c, ns, "quota", nil, corev1.ResourceList{"count/widgets.quota.example.com": q("2")})
		waitUsed(t, c, ns, "quota", corev1.ResourceList{"count/widgets.quota.example.com": q("1")})
		if _, err := widgets.Create(ctx, widget("after"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, c, ns, "quota", corev1.ResourceList{"count/widgets.quota.example.com": q("2")})
		_, err = widgets.Create(ctx, widget("over"), metav1.CreateOptions{})
		wantForbidden(t, err,
			"exceeded quota: quota, requested: count/widgets.quota.example.com=1, used: count/widgets.quota.example.com=2, limited: count/widgets.quota.example.com=2")
		if err := widgets.Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUsed(t, c, ns, "quota", corev1.ResourceList{"count/widgets.quota.example.com": q("1")})
	})
}

func q(s string) resource.Quantity { return resource.MustParse(s) }

type creator[T any] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
}

func create[T any](c creator[T], obj T) error {
	_, err := c.Create(context.Background(), obj, metav1.CreateOptions{})
	return err
}

func mustCreate[T any](t *testing.T, c creator[T], obj T) {
	t.Helper()
	if err := create(c, obj); err != nil {
		t.Fatalf("create: %v", err)
	}
}

func wantForbidden(t *testing.T, err error, msg string) {
	t.Helper()
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), msg) {
		t.Errorf("got error %v, want 403 Forbidden with %q", err, msg)
	}
}

func createQuota(t *testing.T, c kubernetes.Interface, ns, name string, scopes []corev1.ResourceQuotaScope, hard corev1.ResourceList) {
	t.Helper()
	mustCreate(t, c.CoreV1().ResourceQuotas(ns), &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes},
	})
}

func createConfigMap(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	mustCreate(t, c.CoreV1().ConfigMaps(ns), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

// waitUsed waits until the quota's status.used has want's values for
// want's resources, and its status.hard is its spec.hard.
func waitUsed(t *testing.T, c kubernetes.Interface, ns, name string, want corev1.ResourceList) {
	t.Helper()
	var got *corev1.ResourceQuota
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		got, err = c.CoreV1().ResourceQuotas(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return quota.Equals(got.Spec.Hard, got.Status.Hard) &&
			quota.Equals(quota.Mask(got.Status.Used, quota.ResourceNames(want)), want), nil
	})
	if err != nil {
		t.Fatalf("quota %s/%s: hard %v, used %v; want used %v: %v", ns, name, got.Status.Hard, got.Status.Used, want, err)
	}
}

func pod(name, cpu, memory string, deadline *int64) *corev1.Pod {
	res := corev1.ResourceRequirements{}
	if cpu != "" {
		res.Requests = corev1.ResourceList{corev1.ResourceCPU: q(cpu)}
	}
	if memory != "" {
		res.Limits = corev1.ResourceList{corev1.ResourceMemory: q(memory)}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			ActiveDeadlineSeconds: deadline,
			// No node: the pod stays Pending, and the test plays its node
			// agent.
			Containers: []corev1.Container{{Name: "app", Image: "busybox", Resources: res}},
		},
	}
}

// finish marks the pod Succeeded, as its node agent would.
func finish(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	p, err := c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodSucceeded
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func service(name string, typ corev1.ServiceType, ports int) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}},
	}
	for i := range max(ports, 1) {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", i), Port: int32(80 + i)})
	}
	return svc
}

func claim(name, class, size string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(class),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q(size)}},
		},
	}
}

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
			},
		},
	}
}
