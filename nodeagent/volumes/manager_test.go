package volumes

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestWatchedObjectsServeReads: the first pod that references a ConfigMap
// reads it with a GET; once the watch that follows it has listed it, the
// next pods read it from there, and an update seen by the watch reaches
// their files without another GET.
func TestWatchedObjectsServeReads(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": "one"},
	})
	var gets atomic.Int32
	client.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets.Add(1)
		return false, nil, nil
	})
	m, err := New(Config{Client: client, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	pod := func(uid string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: uid, UID: types.UID(uid)},
			Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "ca", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}},
			}}}},
		}
	}
	caFile := func(uid string) string {
		b, _ := os.ReadFile(filepath.Join(m.Dir(types.UID(uid)), "ca", "ca.crt"))
		return string(b)
	}
	if _, err := m.SetUp(ctx, pod("a")); err != nil {
		t.Fatal(err)
	}
	if n := gets.Load(); n != 1 {
		t.Fatalf("first pod: %d GETs, want 1", n)
	}
	key := objectKey{namespace: "ns", name: "kube-root-ca.crt"}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		_, ok := m.cached(key)
		return ok, nil
	}); err != nil {
		t.Fatal("the watch of the referenced ConfigMap never listed it")
	}
	for _, uid := range []string{"b", "c"} {
		if _, err := m.SetUp(ctx, pod(uid)); err != nil {
			t.Fatal(err)
		}
		if got := caFile(uid); got != "one" {
			t.Fatalf("pod %s: ca.crt %q, want one", uid, got)
		}
	}
	if n := gets.Load(); n != 1 {
		t.Fatalf("pods set up after the watch listed the ConfigMap made %d GETs in all, want 1 (the first pod's)", n)
	}

	cm, _ := client.CoreV1().ConfigMaps("ns").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	gets.Store(0)
	cm.Data["ca.crt"] = "two"
	if _, err := client.CoreV1().ConfigMaps("ns").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return caFile("a") == "two" && caFile("c") == "two", nil
	}); err != nil {
		t.Fatalf("after the update: pod a has %q, pod c %q; want two", caFile("a"), caFile("c"))
	}
	if n := gets.Load(); n != 0 {
		t.Fatalf("the update was refreshed with %d GETs, want none (the watch has it)", n)
	}
}
