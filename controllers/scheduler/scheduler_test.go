package scheduler

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2/ktesting"

	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// TestSchedulerFake runs the whole scheduler on a fake clientset whose
// pods/binding sets the pod's node, as the API server does: pods are
// bound where they fit, one that fits nowhere gets FailedScheduling and
// the condition, and is bound once a node with room is added; a pod for
// another scheduler is left alone.
func TestSchedulerFake(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := fake.NewClientset(
		ft.MakeNode("n1").Capacity("cpu", "2").Obj(),
		ft.MakeNode("n2").Capacity("cpu", "1").Obj(),
	)
	var mu sync.Mutex
	bound := map[string]string{}
	client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := action.(k8stesting.CreateAction).GetObject().(*corev1.Binding)
		obj, err := client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		pod.Spec.NodeName = b.Target.Name
		mu.Lock()
		bound[b.Name] = b.Target.Name
		mu.Unlock()
		return true, nil, client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, b.Namespace)
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	recorder := events.NewFakeRecorder(100)
	s, err := New(Config{Client: client, Pods: factory.Core().V1().Pods(), Nodes: factory.Core().V1().Nodes(), Events: recorder})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	create := func(p *corev1.Pod) {
		t.Helper()
		if _, err := client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitBound := func(name, node string) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return bound[name] == node, nil
		})
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s bound to %q, want %q", name, bound[name], node)
		}
	}
	create(ft.MakePod("a").Req("cpu", "1500m").Obj())
	waitBound("a", "n1")
	create(ft.MakePod("b").Req("cpu", "800m").Obj())
	waitBound("b", "n2")
	other := ft.MakePod("other").Obj()
	other.Spec.SchedulerName = "someone-else"
	create(other)
	create(ft.MakePod("c").Req("cpu", "1").Obj())

	want := "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "c", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonUnschedulable {
				if c.Message != want {
					t.Errorf("message = %q\nwant %q", c.Message, want)
				}
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no PodScheduled condition on c: %v", err)
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, ft.MakeNode("n3").Capacity("cpu", "4").Obj(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitBound("c", "n3")

	mu.Lock()
	if node, ok := bound["other"]; ok {
		t.Errorf("pod of another scheduler bound to %s", node)
	}
	mu.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	var scheduled, failed int
	for len(recorder.Events) > 0 {
		e := <-recorder.Events
		switch {
		case strings.HasPrefix(e, "Normal Scheduled Successfully assigned default/"):
			scheduled++
		case strings.HasPrefix(e, "Warning FailedScheduling 0/2 nodes are available"):
			failed++
		}
	}
	if scheduled != 3 || failed < 1 {
		t.Errorf("events: %d Scheduled, %d FailedScheduling", scheduled, failed)
	}
}

// TestBindParallelism: with bindings that take their time, no more than
// BindParallelism of them are under way at once, and all pods still get
// bound.
func TestBindParallelism(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const limit, pods = 3, 20
	objs := []runtime.Object{ft.MakeNode("n1").Capacity("cpu", "100", "pods", "100").Obj()}
	for i := range pods {
		objs = append(objs, ft.MakePod(fmt.Sprintf("p%d", i)).Obj())
	}
	fakeClient := fake.NewClientset(objs...)
	client := &slowBinds{Interface: fakeClient}
	// The informers use the fake itself, which tells them it cannot serve
	// watch lists.
	factory := informers.NewSharedInformerFactory(fakeClient, 0)
	s, err := New(Config{Client: client, Pods: factory.Core().V1().Pods(), Nodes: factory.Core().V1().Nodes(),
		Events: events.NewFakeRecorder(100), BindParallelism: limit})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		client.mu.Lock()
		defer client.mu.Unlock()
		return client.bound == pods, nil
	})
	client.mu.Lock()
	if err != nil {
		t.Errorf("%d of %d pods bound", client.bound, pods)
	}
	if client.peak != limit {
		t.Errorf("peak bindings in flight = %d, want %d", client.peak, limit)
	}
	client.mu.Unlock()
	cancel()
	<-done
}

// slowBinds is a clientset whose pod bindings take 20 ms each and count
// how many are under way at once. (The fake clientset's reactors run one
// at a time, so the wait must be outside them.)
type slowBinds struct {
	kubernetes.Interface
	mu                    sync.Mutex
	inFlight, peak, bound int
	names                 []string
}

func (c *slowBinds) CoreV1() typedcorev1.CoreV1Interface { return slowCore{c.Interface.CoreV1(), c} }

type slowCore struct {
	typedcorev1.CoreV1Interface
	c *slowBinds
}

func (s slowCore) Pods(ns string) typedcorev1.PodInterface {
	return slowPods{s.CoreV1Interface.Pods(ns), s.c}
}

type slowPods struct {
	typedcorev1.PodInterface
	c *slowBinds
}

func (p slowPods) Bind(ctx context.Context, b *corev1.Binding, opts metav1.CreateOptions) error {
	p.c.mu.Lock()
	p.c.inFlight++
	p.c.peak = max(p.c.peak, p.c.inFlight)
	p.c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	p.c.mu.Lock()
	p.c.inFlight--
	p.c.bound++
	p.c.names = append(p.c.names, b.Name)
	p.c.mu.Unlock()
	return nil
}

// TestSchedulerName: a scheduler named other than default-scheduler (as
// `kubelite scheduler --scheduler-name`) takes only the pods whose
// spec.schedulerName is its name, and leaves the default scheduler's pods
// alone, as upstream's profiles do.
func TestSchedulerName(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	named := func(name, scheduler string) runtime.Object {
		p := ft.MakePod(name).Obj()
		p.Spec.SchedulerName = scheduler
		return p
	}
	fakeClient := fake.NewClientset(ft.MakeNode("n1").Capacity("cpu", "4").Obj(),
		named("mine", "second"), named("default", DefaultName), named("third", "third"))
	client := &slowBinds{Interface: fakeClient}
	factory := informers.NewSharedInformerFactory(fakeClient, 0)
	recorder := events.NewFakeRecorder(100)
	s, err := New(Config{Client: client, Pods: factory.Core().V1().Pods(), Nodes: factory.Core().V1().Nodes(),
		Events: recorder, Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		client.mu.Lock()
		defer client.mu.Unlock()
		return client.bound > 0, nil
	})
	if err != nil {
		t.Fatal("the scheduler's own pod was not bound")
	}
	// Give it time to (wrongly) take the others.
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	client.mu.Lock()
	defer client.mu.Unlock()
	if len(client.names) != 1 || client.names[0] != "mine" {
		t.Errorf("bound %v, want only [mine]", client.names)
	}
	for len(recorder.Events) > 0 {
		if e := <-recorder.Events; !strings.Contains(e, "default/mine") {
			t.Errorf("event about another scheduler's pod: %s", e)
		}
	}
}

// TestRunRemovesHandlers checks that a scheduler that stops (its lease
// lost) leaves the informers it shared with others without its handlers:
// a pod created afterwards reaches only the next scheduler on them.
func TestRunRemovesHandlers(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	cfg := Config{Client: client, Pods: factory.Core().V1().Pods(), Nodes: factory.Core().V1().Nodes(),
		PersistentVolumeClaims: factory.Core().V1().PersistentVolumeClaims(), Events: events.NewFakeRecorder(100)}
	queued := func(s *Scheduler, uid string) bool {
		s.queue.mu.Lock()
		defer s.queue.mu.Unlock()
		_, ok := s.queue.pods[types.UID(uid)]
		return ok
	}
	first, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- first.Run(runCtx) }()
	create := func(name string) {
		t.Helper()
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name + "-uid")},
			Spec: corev1.PodSpec{SchedulerName: DefaultName, Containers: []corev1.Container{{Name: "c"}}}}
		if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitQueued := func(s *Scheduler, name string) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return queued(s, name+"-uid"), nil
		})
		if err != nil {
			t.Fatalf("pod %s never queued", name)
		}
	}
	create("a")
	waitQueued(first, "a")
	stop()
	<-done // nil, or the wait for the caches cut short
	second, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	create("p")
	waitQueued(second, "p")
	if queued(first, "p-uid") {
		t.Error("the stopped scheduler still hears of pods on the shared informer")
	}
	if n := len(first.handlers); n != 0 {
		t.Errorf("stopped scheduler keeps %d handlers", n)
	}
}
