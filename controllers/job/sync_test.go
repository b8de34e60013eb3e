package job

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

type fixture struct {
	c      *Controller
	client *fake.Clientset
	jobs   cache.Indexer
	pods   cache.Indexer
	clock  *testingclock.FakeClock
}

// newFixture builds a controller on a fake clientset whose informers are
// never started: tests put objects into the caches by hand.
func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	// The fake does not generate names.
	var generated atomic.Int32
	client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if p, ok := a.(clienttesting.CreateAction).GetObject().(*corev1.Pod); ok && p.Name == "" {
			p.Name = p.GenerateName + strconv.Itoa(int(generated.Add(1)))
		}
		return false, nil, nil
	})
	// Nor does it move resource versions.
	client.PrependReactor("update", "jobs", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if j, ok := a.(clienttesting.UpdateAction).GetObject().(*batchv1.Job); ok {
			n, _ := strconv.Atoi(j.ResourceVersion)
			j.ResourceVersion = strconv.Itoa(n + 1)
		}
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	clk := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c, err := New(Config{Client: client, Jobs: factory.Batch().V1().Jobs(), Pods: factory.Core().V1().Pods(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{c: c, client: client, clock: clk,
		jobs: factory.Batch().V1().Jobs().Informer().GetIndexer(), pods: factory.Core().V1().Pods().Informer().GetIndexer()}
	for _, o := range objs {
		switch o := o.(type) {
		case *batchv1.Job:
			_ = f.jobs.Add(o)
		case *corev1.Pod:
			_ = f.pods.Add(o)
		}
	}
	return f
}

func (f *fixture) actions(verb, resource string) int {
	n := 0
	for _, a := range f.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

func testJob(completions, parallelism int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "j", UID: "job-uid", ResourceVersion: "1"},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(completions), Parallelism: ptr.To(parallelism), BackoffLimit: ptr.To[int32](6),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"job": "j"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"job": "j"}},
				Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "main", Image: "x"}}},
			},
		},
	}
}

func jobPod(j *batchv1.Job, name string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: j.Namespace, Name: name, UID: types.UID("uid-" + j.Name + "-" + name), Labels: j.Spec.Template.Labels,
			Finalizers:      []string{batchv1.JobTrackingFinalizer},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, jobKind)},
		},
		Status: corev1.PodStatus{Phase: phase},
	}
}

// TestExpectationsPreventDoubleCreation: a second sync before the cache
// shows the first sync's pods creates nothing.
func TestExpectationsPreventDoubleCreation(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	j := testJob(5, 2)
	f := newFixture(t, j)
	if err := f.c.sync(ctx, "ns/j"); err != nil {
		t.Fatal(err)
	}
	got, err := f.client.BatchV1().Jobs("ns").Get(ctx, "j", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Active != 2 || got.Status.StartTime == nil {
		t.Errorf("status active %d, startTime %v; want 2 and set", got.Status.Active, got.Status.StartTime)
	}
	// The cache shows the written status, not yet the pods.
	_ = f.jobs.Update(got)
	for range 2 {
		if err := f.c.sync(ctx, "ns/j"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.actions("create", "pods"); n != 2 {
		t.Errorf("3 syncs created %d pods, want 2", n)
	}
}

// TestBackoffDelaysReplacement: after a failed pod, no replacement is made
// until the back-off has passed.
func TestBackoffDelaysReplacement(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	j := testJob(1, 1)
	failed := jobPod(j, "a", corev1.PodFailed)
	f := newFixture(t, j, failed)
	if err := f.c.sync(ctx, "ns/j"); err != nil {
		t.Fatal(err)
	}
	if n := f.actions("create", "pods"); n != 0 {
		t.Fatalf("created %d pods during the back-off, want 0", n)
	}
	got, err := f.client.BatchV1().Jobs("ns").Get(ctx, "j", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Failed != 1 || len(got.Status.UncountedTerminatedPods.Failed) != 0 {
		t.Errorf("status failed %d, uncounted %v; want 1 and none", got.Status.Failed, got.Status.UncountedTerminatedPods)
	}
	if n := f.actions("patch", "pods"); n != 1 {
		t.Errorf("%d pod patches, want 1 (the finalizer removal)", n)
	}
	// The cache catches up: the pod lost its finalizer and the status counts it.
	released := failed.DeepCopy()
	released.Finalizers = nil
	_ = f.pods.Update(released)
	f.c.memory.finalizerGone("ns/j", released.UID)
	_ = f.jobs.Update(got)
	f.clock.Step(DefaultBackoff + time.Second)
	if err := f.c.sync(ctx, "ns/j"); err != nil {
		t.Fatal(err)
	}
	if n := f.actions("create", "pods"); n != 1 {
		t.Errorf("created %d pods after the back-off, want 1", n)
	}
}

// TestOwnWriteNotSeenYet: until the cache shows the status this controller
// wrote, a sync does nothing, so it neither conflicts nor acts on the old
// status.
func TestOwnWriteNotSeenYet(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	j := testJob(1, 1)
	f := newFixture(t, j)
	if err := f.c.sync(ctx, "ns/j"); err != nil {
		t.Fatal(err)
	}
	before := len(f.client.Actions())
	f.c.memory.created("ns/j") // as if the pod informer had shown the pod
	if err := f.c.sync(ctx, "ns/j"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.client.Actions()) - before; n != 0 {
		t.Errorf("sync on a stale Job made %d requests, want 0", n)
	}
}
