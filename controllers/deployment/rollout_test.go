package deployment

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func rolling(replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(replicas),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
	}}
}

func rs(name string, spec, available int32, maxReplicas string) *appsv1.ReplicaSet {
	r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(spec)}, Status: appsv1.ReplicaSetStatus{AvailableReplicas: available, Replicas: spec}}
	if maxReplicas != "" {
		r.Annotations[MaxReplicasAnnotation] = maxReplicas
	}
	return r
}

func TestLimits(t *testing.T) {
	cases := []struct {
		name              string
		d                 *appsv1.Deployment
		surge, unavailble int32
	}{
		{"25% of 10: surge rounds up, unavailable down", rolling(10, intstr.FromString("25%"), intstr.FromString("25%")), 3, 2},
		{"both zero: one may be unavailable", rolling(3, intstr.FromInt32(0), intstr.FromInt32(0)), 0, 1},
		{"unavailable capped at replicas", rolling(2, intstr.FromInt32(1), intstr.FromInt32(5)), 1, 2},
		{"defaults", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4)}}, 1, 1},
		{"recreate", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}, 0, 0},
	}
	for _, tc := range cases {
		s, u := limits(tc.d)
		if s != tc.surge || u != tc.unavailble {
			t.Errorf("%s: limits = %d, %d; want %d, %d", tc.name, s, u, tc.surge, tc.unavailble)
		}
	}
}

func TestNewReplicas(t *testing.T) {
	d := rolling(10, intstr.FromInt32(2), intstr.FromInt32(0))
	cases := []struct {
		name string
		old  int32
		new  int32
		want int32
	}{
		{"start: surge", 10, 0, 2},
		{"at the surge limit", 10, 2, 2},
		{"old scaled down: fill the gap", 8, 2, 4},
		{"never past replicas", 1, 9, 10},
	}
	for _, tc := range cases {
		newRS := rs("new", tc.new, 0, "")
		if got := newReplicas(d, []*appsv1.ReplicaSet{rs("old", tc.old, 0, ""), newRS}, newRS); got != tc.want {
			t.Errorf("%s: newReplicas = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestProportions(t *testing.T) {
	// Mid-rollout at 10 replicas (+3 surge: 13), scaled to 20 (+5: 25).
	d := rolling(20, intstr.FromString("25%"), intstr.FromString("25%"))
	got := proportions(d, []*appsv1.ReplicaSet{rs("old", 8, 8, "13"), rs("new", 5, 0, "13")})
	if diff := cmp.Diff(map[string]int32{"old": 15, "new": 10}, got); diff != "" {
		t.Errorf("scale up (-want +got):\n%s", diff)
	}
	// Scaled down to 0: everything goes.
	d = rolling(0, intstr.FromString("25%"), intstr.FromString("25%"))
	got = proportions(d, []*appsv1.ReplicaSet{rs("old", 8, 8, "13"), rs("new", 5, 0, "13")})
	if diff := cmp.Diff(map[string]int32{"old": 0, "new": 0}, got); diff != "" {
		t.Errorf("scale to zero (-want +got):\n%s", diff)
	}
}

func TestTemplateHash(t *testing.T) {
	a := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "a"}}}}
	b := a.DeepCopy()
	b.Spec.Containers[0].Image = "b"
	if templateHash(a, nil) != templateHash(a.DeepCopy(), nil) {
		t.Error("hash of equal templates differs")
	}
	if templateHash(a, nil) == templateHash(b, nil) {
		t.Error("hash of different templates is the same")
	}
	if templateHash(a, nil) == templateHash(a, ptr.To[int32](1)) {
		t.Error("collision count does not change the hash")
	}
}

func TestAnnotate(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		"kubernetes.io/change-cause": "v2", RevisionAnnotation: "9", corev1.LastAppliedConfigAnnotation: "{}",
	}}}
	set := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{RevisionAnnotation: "1"}}}
	if !annotate(d, set, 3) {
		t.Fatal("annotate reported no change")
	}
	want := map[string]string{"kubernetes.io/change-cause": "v2", RevisionAnnotation: "3", RevisionHistoryAnnotation: "1"}
	if diff := cmp.Diff(want, set.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if annotate(d, set, 3) {
		t.Error("annotating again reported a change")
	}
}

func TestProgressing(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Name, d.Generation = "web", 2
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
	d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 3}
	newRS := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}}
	since := func(ago time.Duration) []appsv1.DeploymentCondition {
		t := metav1.NewTime(now.Add(-ago))
		return []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
			Reason: ReasonReplicaSetUpdated, LastUpdateTime: t, LastTransitionTime: t}}
	}
	cases := []struct {
		name    string
		st      appsv1.DeploymentStatus
		reason  string
		recheck time.Duration
	}{
		{"complete", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3,
			Conditions: since(time.Minute)}, ReasonNewRSAvailable, 0},
		{"progress", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 2, AvailableReplicas: 3,
			Conditions: since(50 * time.Second)}, ReasonReplicaSetUpdated, 61 * time.Second},
		{"no progress, deadline ahead", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 3,
			Conditions: since(50 * time.Second)}, ReasonReplicaSetUpdated, 11 * time.Second},
		{"no progress, deadline passed", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 3,
			Conditions: since(2 * time.Minute)}, ReasonTimedOut, 0},
	}
	for _, tc := range cases {
		st := tc.st
		recheck := progressing(d, &st, newRS, now)
		cond := getCondition(st, appsv1.DeploymentProgressing)
		if cond == nil || cond.Reason != tc.reason || recheck != tc.recheck {
			t.Errorf("%s: condition %+v, recheck %v; want reason %s, recheck %v", tc.name, cond, recheck, tc.reason, tc.recheck)
		}
	}
}

// TestScaleDownOldStaleStatus: an old set just scaled down whose status
// still counts the pods it is deleting must not be scaled down past
// maxUnavailable.
func TestScaleDownOldStaleStatus(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	old := rs("old", 2, 3, "") // scaled 3 -> 2, status not caught up
	old.Namespace = "ns"
	newRS := rs("new", 2, 2, "")
	newRS.Namespace = "ns"
	client := fake.NewClientset(old, newRS)
	c := &Controller{client: client, events: &record.FakeRecorder{}, clock: testingclock.NewFakeClock(time.Now())}
	r := &rollout{d: d, newRS: newRS, old: []*appsv1.ReplicaSet{old}}
	if err := c.scaleDownOld(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := client.AppsV1().ReplicaSets("ns").Get(ctx, "old", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 1 {
		t.Errorf("old set scaled to %d, want 1 (2 new + 1 old available = 3)", *got.Spec.Replicas)
	}
}
