package workload

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
)

func TestAvailable(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	pod := func(ready bool, since time.Time) *corev1.Pod {
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		return &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(since)},
		}}}
	}
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		minReady int32
		want     bool
		left     time.Duration
	}{
		{"not ready", pod(false, now.Add(-time.Hour)), 0, false, 0},
		{"ready, no wait", pod(true, now), 0, true, 0},
		{"ready long enough", pod(true, now.Add(-11*time.Second)), 10, true, 0},
		{"ready exactly minReadySeconds: not yet, as upstream", pod(true, now.Add(-10*time.Second)), 10, false, time.Millisecond},
		{"ready 4s of 10", pod(true, now.Add(-4*time.Second)), 10, false, 6 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, left := Available(tc.pod, tc.minReady, now)
			if got != tc.want || left != tc.left {
				t.Errorf("Available = %v, %v; want %v, %v", got, left, tc.want, tc.left)
			}
		})
	}
}

func TestClaim(t *testing.T) {
	owner := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", UID: "x-uid"}}
	kind := appsv1.SchemeGroupVersion.WithKind("DaemonSet")
	ref := *metav1.NewControllerRef(owner, kind)
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: "ns", UID: "o", Labels: map[string]string{"app": "x"}}}
	stray := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: "ns", UID: "s", Labels: map[string]string{"app": "y"},
		OwnerReferences: []metav1.OwnerReference{ref}}}
	mine := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "ns", UID: "m", Labels: map[string]string{"app": "x"},
		OwnerReferences: []metav1.OwnerReference{ref}}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns", UID: "t", Labels: map[string]string{"app": "x"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "r", UID: "r", Controller: new(true)}}}}
	client := fake.NewClientset(owner, orphan, stray, mine, other)
	ctx := context.Background()
	owned, err := Claim(ctx, client, Owner{
		Object: owner, Kind: kind, Selector: labels.SelectorFromSet(labels.Set{"app": "x"}),
		Fresh: func(ctx context.Context) (metav1.Object, error) {
			return client.AppsV1().DaemonSets("ns").Get(ctx, "x", metav1.GetOptions{})
		},
	}, []*corev1.Pod{orphan, stray, mine, other})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range owned {
		names = append(names, p.Name)
	}
	if len(names) != 2 || names[0] != "orphan" || names[1] != "mine" {
		t.Errorf("owned %v, want orphan (adopted) and mine", names)
	}
	if p, _ := client.CoreV1().Pods("ns").Get(ctx, "orphan", metav1.GetOptions{}); !metav1.IsControlledBy(p, owner) {
		t.Errorf("orphan owners %v", p.OwnerReferences)
	}
	if p, _ := client.CoreV1().Pods("ns").Get(ctx, "stray", metav1.GetOptions{}); len(p.OwnerReferences) != 0 {
		t.Errorf("stray still has owners %v", p.OwnerReferences)
	}
}
