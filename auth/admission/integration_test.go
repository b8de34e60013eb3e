package admission_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

func pod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func rl(cpu, mem string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
}

// TestBuiltinPlugins drives the admission chain of a real server.
func TestBuiltinPlugins(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods

	t.Run("LimitRanger defaults and bounds", func(t *testing.T) {
		s.CreateNamespace(t, "limits")
		lr := &corev1.LimitRange{
			ObjectMeta: metav1.ObjectMeta{Name: "limits"},
			Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
				Type: corev1.LimitTypeContainer, Min: rl("50m", "100Mi"), Max: rl("500m", "500Mi"),
				Default: rl("500m", "500Mi"), DefaultRequest: rl("100m", "200Mi"),
			}}},
		}
		if _, err := s.Client.CoreV1().LimitRanges("limits").Create(ctx, lr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := pods("limits").Create(ctx, pod("defaulted"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res := got.Spec.Containers[0].Resources
		if !res.Requests.Cpu().Equal(resource.MustParse("100m")) || !res.Limits.Memory().Equal(resource.MustParse("500Mi")) {
			t.Errorf("resources not defaulted: %+v", res)
		}
		if got.Annotations["kubernetes.io/limit-ranger"] == "" {
			t.Error("no limit-ranger annotation")
		}
		// The QoS class is computed from the defaulted resources.
		if got.Status.QOSClass != corev1.PodQOSBurstable {
			t.Errorf("QoS class = %s", got.Status.QOSClass)
		}
		_, err = pods("limits").Create(ctx, pod("small", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = rl("10m", "50Mi")
		}), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "minimum cpu usage per Container is 50m, but request is 10m") {
			t.Errorf("want Forbidden below min, got %v", err)
		}
	})

	t.Run("ServiceAccount", func(t *testing.T) {
		s.CreateNamespace(t, "accounts")
		_, err := pods("accounts").Create(ctx, pod("orphan", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "missing" }), metav1.CreateOptions{})
		want := `pods "orphan" is forbidden: error looking up service account accounts/missing: serviceaccount "missing" not found`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("error = %v\nwant Forbidden %q", err, want)
		}

		got, err := pods("accounts").Create(ctx, pod("mounted"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.ServiceAccountName != "default" {
			t.Errorf("serviceAccountName = %q", got.Spec.ServiceAccountName)
		}
		if len(got.Spec.Volumes) != 1 || !strings.HasPrefix(got.Spec.Volumes[0].Name, "kube-api-access-") || got.Spec.Volumes[0].Projected == nil {
			t.Fatalf("volumes = %+v", got.Spec.Volumes)
		}
		m := got.Spec.Containers[0].VolumeMounts
		if len(m) != 1 || m[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" || !m[0].ReadOnly || m[0].Name != got.Spec.Volumes[0].Name {
			t.Errorf("mounts = %+v", m)
		}

		optOut := pod("opted-out", func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = ptr.To(false) })
		if got, err = pods("accounts").Create(ctx, optOut, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.Volumes) != 0 || len(got.Spec.Containers[0].VolumeMounts) != 0 {
			t.Errorf("opted-out pod got the token: %+v", got.Spec)
		}

		nomount := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nomount"}, AutomountServiceAccountToken: ptr.To(false)}
		if _, err := s.Client.CoreV1().ServiceAccounts("accounts").Create(ctx, nomount, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Created a moment ago: found by the live lookup if the informer lags.
		got, err = pods("accounts").Create(ctx, pod("nomount", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "nomount" }), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.Volumes) != 0 {
			t.Errorf("account's opt-out ignored: %+v", got.Spec.Volumes)
		}
	})

	t.Run("RuntimeClass", func(t *testing.T) {
		s.CreateNamespace(t, "runtimes")
		_, err := pods("runtimes").Create(ctx, pod("nope", func(p *corev1.Pod) { p.Spec.RuntimeClassName = ptr.To("nope") }), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		want := `pods "nope" is forbidden: pod rejected: RuntimeClass "nope" not found`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("error = %v\nwant Forbidden %q", err, want)
		}

		rc := &nodev1.RuntimeClass{
			ObjectMeta: metav1.ObjectMeta{Name: "kata"},
			Handler:    "kata",
			Overhead:   &nodev1.Overhead{PodFixed: rl("250m", "120Mi")},
		}
		rcs := s.Client.NodeV1().RuntimeClasses()
		if _, err := rcs.Create(ctx, rc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := pods("runtimes").Create(ctx, pod("kata", func(p *corev1.Pod) { p.Spec.RuntimeClassName = ptr.To("kata") }), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Spec.Overhead.Cpu().Equal(resource.MustParse("250m")) || !got.Spec.Overhead.Memory().Equal(resource.MustParse("120Mi")) {
			t.Errorf("overhead = %v", got.Spec.Overhead)
		}
		_, err = pods("runtimes").Create(ctx, pod("other", func(p *corev1.Pod) {
			p.Spec.RuntimeClassName = ptr.To("kata")
			p.Spec.Overhead = rl("1", "1Gi")
		}), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("different overhead: want Forbidden, got %v", err)
		}

		// Once deleted, the class is refused again (upstream's conformance
		// test polls for this after the delete).
		if err := rcs.Delete(ctx, "kata", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := pods("runtimes").Create(ctx, pod("late", func(p *corev1.Pod) { p.Spec.RuntimeClassName = ptr.To("kata") }),
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return apierrors.IsForbidden(err), nil
		})
		if err != nil {
			t.Errorf("pod with a deleted RuntimeClass still admitted: %v", err)
		}
	})
}
