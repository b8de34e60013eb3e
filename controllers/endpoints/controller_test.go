package endpoints

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

// fixture is a controller on a fake clientset whose informer caches the test
// fills by hand.
type fixture struct {
	client *fake.Clientset
	f      informers.SharedInformerFactory
	c      *Controller
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Services: f.Core().V1().Services(), Pods: f.Core().V1().Pods(), Endpoints: f.Core().V1().Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{client: client, f: f, c: c}
}

// writes returns the create, update and delete actions the client saw and
// forgets them.
func (x *fixture) writes() []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range x.client.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			out = append(out, a)
		}
	}
	x.client.ClearActions()
	return out
}

func TestSync(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	x := newFixture(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Labels: map[string]string{"tier": "front"}, CreationTimestamp: metav1.Now()},
		Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.1", Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}}},
	}
	p := pod("a", "10.1.0.1", 8080, true)
	p.Labels = map[string]string{"app": "web"}
	if err := x.f.Core().V1().Services().Informer().GetIndexer().Add(svc); err != nil {
		t.Fatal(err)
	}
	if err := x.f.Core().V1().Pods().Informer().GetIndexer().Add(p); err != nil {
		t.Fatal(err)
	}

	if err := x.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	w := x.writes()
	if len(w) != 1 || w[0].GetVerb() != "create" {
		t.Fatalf("first sync wrote %v, want one create", w)
	}
	ep := w[0].(k8stesting.CreateAction).GetObject().(*corev1.Endpoints)
	if ep.Labels[LabelManagedBy] != ControllerName || ep.Labels["tier"] != "front" || len(ep.Subsets) != 1 ||
		ep.Subsets[0].Ports[0].Port != 8080 || ep.Annotations[corev1.EndpointsLastChangeTriggerTime] == "" {
		t.Errorf("created endpoints = %+v", ep)
	}

	// Once the cache shows it, syncing again writes nothing.
	ep.ResourceVersion = "1"
	if err := x.f.Core().V1().Endpoints().Informer().GetIndexer().Add(ep); err != nil {
		t.Fatal(err)
	}
	if err := x.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if w := x.writes(); len(w) != 0 {
		t.Errorf("settled sync wrote %v", w)
	}

	// A Service without a selector is left alone; a deleted one loses its
	// Endpoints.
	manual := svc.DeepCopy()
	manual.Spec.Selector = nil
	if err := x.f.Core().V1().Services().Informer().GetIndexer().Update(manual); err != nil {
		t.Fatal(err)
	}
	if err := x.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if w := x.writes(); len(w) != 0 {
		t.Errorf("selectorless service: sync wrote %v", w)
	}
	if err := x.f.Core().V1().Services().Informer().GetIndexer().Delete(manual); err != nil {
		t.Fatal(err)
	}
	if err := x.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if w := x.writes(); len(w) != 1 || w[0].GetVerb() != "delete" {
		t.Errorf("deleted service: sync wrote %v, want one delete", w)
	}
}
