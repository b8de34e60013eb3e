package resourcequota

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestCreationInBlindSpot: the fake clientset has no admission, so only the
// controller can charge a ConfigMap. One created soon after a quota is
// counted (admission may have missed the quota); one created long after a
// quota is not recounted, as upstream (admission charged it).
func TestCreationInBlindSpot(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := time.Now()
	hard := corev1.ResourceList{corev1.ResourceConfigMaps: resource.MustParse("5")}
	zero := corev1.ResourceList{corev1.ResourceConfigMaps: resource.MustParse("0")}
	quotaAt := func(name string, created time.Time) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "q", CreationTimestamp: metav1.NewTime(created)},
			Spec:       corev1.ResourceQuotaSpec{Hard: hard},
			Status:     corev1.ResourceQuotaStatus{Hard: hard, Used: zero},
		}
	}
	client := fake.NewClientset(quotaAt("new", now), quotaAt("old", now.Add(-2*admissionBlindSpot)))
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Informers: factory, ResyncPeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	// The first counts of both quotas, before any ConfigMap exists.
	queue := c.loop.Queue()
	if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return queue.Len() == 2, nil
	}); err != nil {
		t.Fatalf("%d quotas queued at start, want 2", queue.Len())
	}
	for queue.Len() > 0 {
		c.loop.ProcessNext(ctx)
	}

	// An informer's handlers see events in order: once "new"'s ConfigMap
	// has been handled, so has "old"'s, created first.
	for _, ns := range []string{"old", "new"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cm", CreationTimestamp: metav1.NewTime(now)}}
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return queue.Len() > 0, nil
	}); err != nil {
		t.Fatal("a ConfigMap created just after its namespace's quota queued nothing")
	}
	if n := queue.Len(); n != 1 {
		t.Fatalf("%d quotas queued; want only new/q: a quota created %v before the ConfigMap is not recounted on creation (admission charged it)", n, 2*admissionBlindSpot)
	}
	c.loop.ProcessNext(ctx)
	for ns, want := range map[string]int64{"new": 1, "old": 0} {
		q, err := client.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Status.Used[corev1.ResourceConfigMaps]; got.Value() != want {
			t.Errorf("%s/q: used configmaps %s, want %d", ns, got.String(), want)
		}
	}
}
