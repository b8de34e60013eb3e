package replicaset

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

type fixture struct {
	ctrl    *Controller
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	created []*corev1.Pod
}

func newFixture(t *testing.T, rs *appsv1.ReplicaSet) *fixture {
	t.Helper()
	f := &fixture{client: fake.NewClientset(rs)}
	n := 0
	f.client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		p := a.(clienttesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		n++
		p.Name = fmt.Sprintf("%s%d", p.GenerateName, n)
		p.UID = types.UID("uid-" + p.Name)
		f.created = append(f.created, p)
		return true, p, nil
	})
	f.factory = informers.NewSharedInformerFactory(f.client, 0)
	ctrl, err := New(Config{
		Client:      f.client,
		Pods:        f.factory.Core().V1().Pods(),
		ReplicaSets: f.factory.Apps().V1().ReplicaSets(),
		Clock:       testingclock.NewFakeClock(now),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.ctrl = ctrl
	if err := f.factory.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(rs); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) creates() int {
	n := 0
	for _, a := range f.client.Actions() {
		if a.Matches("create", "pods") {
			n++
		}
	}
	return n
}

// observe adds the created pods to the informer cache, as a watch would.
func (f *fixture) observe(t *testing.T) {
	t.Helper()
	for _, p := range f.created {
		if err := f.factory.Core().V1().Pods().Informer().GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
		f.ctrl.podEvents.OnAdd(p, false)
	}
	f.created = nil
}

func testReplicaSet(replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "rs-uid", Generation: 1},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}},
		},
	}
}

// TestExpectations: a second sync before the informer shows the created
// pods creates nothing more; once it shows them, the set is satisfied.
func TestExpectations(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newFixture(t, testReplicaSet(3))
	if err := f.ctrl.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if got := f.creates(); got != 3 {
		t.Fatalf("first sync created %d pods, want 3", got)
	}
	if err := f.ctrl.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if got := f.creates(); got != 3 {
		t.Fatalf("sync before the cache caught up created %d pods in all, want 3", got)
	}
	f.observe(t)
	if err := f.ctrl.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if got := f.creates(); got != 3 {
		t.Errorf("sync after the cache caught up created %d pods in all, want 3", got)
	}
}

// TestCreateFailure: a failing create stops the slow start after one call
// and sets the ReplicaFailure condition.
func TestCreateFailure(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newFixture(t, testReplicaSet(10))
	f.client.PrependReactor("create", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", fmt.Errorf("exceeded quota"))
	})
	if err := f.ctrl.sync(ctx, "ns/web"); err == nil {
		t.Fatal("sync succeeded, want the create error")
	}
	if got := f.creates(); got != 1 {
		t.Errorf("create attempts = %d, want 1", got)
	}
	rs, err := f.client.AppsV1().ReplicaSets("ns").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Status.Conditions) != 1 || rs.Status.Conditions[0].Type != appsv1.ReplicaSetReplicaFailure ||
		rs.Status.Conditions[0].Reason != "FailedCreate" {
		t.Errorf("conditions = %+v, want ReplicaFailure/FailedCreate", rs.Status.Conditions)
	}
	if !f.ctrl.expects.Satisfied("ns/web") {
		t.Error("expectations still wait for creates that never happened")
	}
}
