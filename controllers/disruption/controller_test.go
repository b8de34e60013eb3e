package disruption

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func owner(kind string, name string) metav1.OwnerReference {
	apiVersion := "apps/v1"
	if kind == "ReplicationController" {
		apiVersion = "v1"
	}
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(kind + "-" + name), Controller: ptr.To(true)}
}

func pod(name string, ready bool, owners ...metav1.OwnerReference) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"}, OwnerReferences: owners},
		Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

func budget(minAvailable, maxUnavailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "pdb", Namespace: "ns", Generation: 3},
		Spec: policyv1.PodDisruptionBudgetSpec{
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
		},
	}
}

func newController(t *testing.T, objs ...runtime.Object) *Controller {
	t.Helper()
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{
		Client: client, PodDisruptionBudgets: f.Policy().V1().PodDisruptionBudgets(), Pods: f.Core().V1().Pods(),
		ReplicaSets: f.Apps().V1().ReplicaSets(), Deployments: f.Apps().V1().Deployments(),
		StatefulSets: f.Apps().V1().StatefulSets(), ReplicationControllers: f.Core().V1().ReplicationControllers(),
		Clock: clocktesting.NewFakePassiveClock(now),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Pod:
			err = f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *appsv1.ReplicaSet:
			err = f.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(o)
		case *appsv1.Deployment:
			err = f.Apps().V1().Deployments().Informer().GetIndexer().Add(o)
		case *appsv1.StatefulSet:
			err = f.Apps().V1().StatefulSets().Informer().GetIndexer().Add(o)
		case *corev1.ReplicationController:
			err = f.Core().V1().ReplicationControllers().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestCompute(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "ReplicaSet-rs"}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](4)}}
	deployed := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "ReplicaSet-web-1",
		OwnerReferences: []metav1.OwnerReference{owner("Deployment", "web")}}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](2)}}
	deployed2 := deployed.DeepCopy()
	deployed2.Name, deployed2.UID = "web-2", "ReplicaSet-web-2"
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "Deployment-web"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](5)}}
	ss := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns", UID: "StatefulSet-db"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3)}}
	rc := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "ns", UID: "ReplicationController-old"}, Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](2)}}
	disrupted := pod("d", true, owner("ReplicaSet", "rs"))
	deleting := pod("x", true, owner("ReplicaSet", "rs"))
	deleting.DeletionTimestamp = &metav1.Time{Time: now}

	for _, tc := range []struct {
		name       string
		pdb        *policyv1.PodDisruptionBudget
		objs       []runtime.Object
		disrupted  map[string]metav1.Time
		want       policyv1.PodDisruptionBudgetStatus
		wantReason string
		wantErr    bool
	}{
		{
			name: "integer minAvailable counts matching pods",
			pdb:  budget(ptr.To(intstr.FromInt32(1)), nil),
			objs: []runtime.Object{pod("a", true), pod("b", true), pod("c", false)},
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 3, DesiredHealthy: 1, CurrentHealthy: 2, DisruptionsAllowed: 1}, wantReason: "SufficientPods",
		},
		{
			name: "no pods: nothing allowed",
			pdb:  budget(ptr.To(intstr.FromInt32(0)), nil),
			want: policyv1.PodDisruptionBudgetStatus{}, wantReason: "InsufficientPods",
		},
		{
			name: "percentage minAvailable scales the ReplicaSet's replicas, rounding up",
			pdb:  budget(ptr.To(intstr.FromString("30%")), nil),
			objs: []runtime.Object{rs, pod("a", true, owner("ReplicaSet", "rs")), pod("b", true, owner("ReplicaSet", "rs"))},
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 4, DesiredHealthy: 2, CurrentHealthy: 2}, wantReason: "InsufficientPods",
		},
		{
			name: "maxUnavailable: a Deployment's ReplicaSets count once, as the Deployment",
			pdb:  budget(nil, ptr.To(intstr.FromInt32(1))),
			objs: []runtime.Object{deploy, deployed, deployed2, pod("a", true, owner("ReplicaSet", "web-1")), pod("b", true, owner("ReplicaSet", "web-2")),
				pod("c", true, owner("ReplicaSet", "web-2")), pod("e", true, owner("ReplicaSet", "web-2")), pod("f", true, owner("ReplicaSet", "web-1"))},
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 5, DesiredHealthy: 4, CurrentHealthy: 5, DisruptionsAllowed: 1}, wantReason: "SufficientPods",
		},
		{
			name: "maxUnavailable percentage over a StatefulSet and a ReplicationController",
			pdb:  budget(nil, ptr.To(intstr.FromString("50%"))),
			objs: []runtime.Object{ss, rc, pod("a", true, owner("StatefulSet", "db")), pod("b", false, owner("ReplicationController", "old"))},
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 5, DesiredHealthy: 2, CurrentHealthy: 1}, wantReason: "InsufficientPods",
		},
		{
			name: "pods without a controller are left out of the scale",
			pdb:  budget(nil, ptr.To(intstr.FromInt32(0))),
			objs: []runtime.Object{rs, pod("a", true, owner("ReplicaSet", "rs")), pod("lone", true)},
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 4, DesiredHealthy: 4, CurrentHealthy: 2}, wantReason: "InsufficientPods",
		},
		{
			name:    "a missing controller fails the sync",
			pdb:     budget(ptr.To(intstr.FromString("50%")), nil),
			objs:    []runtime.Object{pod("a", true, owner("ReplicaSet", "gone"))},
			wantErr: true,
		},
		{
			name: "disrupted and deleting pods are not healthy; stale records are dropped",
			pdb:  budget(ptr.To(intstr.FromInt32(1)), nil),
			objs: []runtime.Object{rs, disrupted, deleting, pod("a", true, owner("ReplicaSet", "rs")), pod("old", true, owner("ReplicaSet", "rs"))},
			disrupted: map[string]metav1.Time{
				"d": {Time: now.Add(-time.Minute)}, "old": {Time: now.Add(-3 * time.Minute)},
				"x": {Time: now}, "gone": {Time: now},
			},
			want: policyv1.PodDisruptionBudgetStatus{ExpectedPods: 4, DesiredHealthy: 1, CurrentHealthy: 2, DisruptionsAllowed: 1,
				DisruptedPods: map[string]metav1.Time{"d": {Time: now.Add(-time.Minute)}}},
			wantReason: "SufficientPods",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newController(t, tc.objs...)
			tc.pdb.Status.DisruptedPods = tc.disrupted
			got, recheck, err := c.compute(tc.pdb)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("compute() = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.ObservedGeneration = 3
			if diff := cmp.Diff(tc.want, *got, cmpopts.IgnoreFields(policyv1.PodDisruptionBudgetStatus{}, "Conditions"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if len(got.Conditions) != 1 || got.Conditions[0].Reason != tc.wantReason || got.Conditions[0].ObservedGeneration != 3 {
				t.Errorf("conditions = %+v, want one DisruptionAllowed with reason %s", got.Conditions, tc.wantReason)
			}
			if len(tc.want.DisruptedPods) > 0 && recheck != time.Minute {
				t.Errorf("recheck in %v, want 1m (when d's record expires)", recheck)
			}
		})
	}
}
