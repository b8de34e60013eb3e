package clusterdns

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

func node(name, ip, port string, isReady bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}}
	if port != "" {
		n.Labels[LabelDNSPort] = port
	}
	st := corev1.ConditionFalse
	if isReady {
		st = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}
	return n
}

func TestSlices(t *testing.T) {
	stale := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns-53",
		Labels: map[string]string{discoveryv1.LabelManagedBy: ManagedBy, discoveryv1.LabelServiceName: ServiceName}}}
	client := fake.NewClientset(Service("10.96.0.10"), stale,
		node("a", "10.0.0.1", "10053", true), node("b", "10.0.0.2", "10053", false),
		node("sim", "10.0.0.3", "", true), node("bad", "10.0.0.4", "x", true))
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Nodes: factory.Core().V1().Nodes(), Services: factory.Core().V1().Services(),
		EndpointSlices: factory.Discovery().V1().EndpointSlices()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	if err := c.sync(ctx, key); err != nil {
		t.Fatal(err)
	}
	list, _ := client.DiscoveryV1().EndpointSlices("kube-system").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 1 || list.Items[0].Name != "kube-dns-10053" {
		t.Fatalf("slices: %+v", list.Items)
	}
	var got []string
	for _, e := range list.Items[0].Endpoints {
		got = append(got, e.Addresses[0]+" "+*e.NodeName+" "+map[bool]string{true: "ready", false: "unready"}[*e.Conditions.Ready])
	}
	if diff := cmp.Diff([]string{"10.0.0.1 a ready", "10.0.0.2 b unready"}, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if p := list.Items[0].Ports; len(p) != 2 || *p[0].Port != 10053 || *p[0].Protocol != corev1.ProtocolUDP || *p[1].Protocol != corev1.ProtocolTCP {
		t.Errorf("ports: %+v", p)
	}

	// Without the Service, the slices go.
	if err := client.CoreV1().Services("kube-system").Delete(ctx, ServiceName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if !cache.WaitForCacheSync(stop, func() bool {
		_, err := c.services.Services("kube-system").Get(ServiceName)
		return err != nil
	}) {
		t.Fatal("informer never saw the delete")
	}
	if err := c.sync(ctx, key); err != nil {
		t.Fatal(err)
	}
	list, _ = client.DiscoveryV1().EndpointSlices("kube-system").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Errorf("slices without the Service: %d", len(list.Items))
	}
}

// TestNodeEvents checks that only the changes of nodes that serve DNS, or
// did before the change, queue a sync: simulated nodes' heartbeats must not.
func TestNodeEvents(t *testing.T) {
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	nodes := &recordingInformer{SharedIndexInformer: factory.Core().V1().Nodes().Informer()}
	c := &Controller{}
	c.loop = loop.New("cluster-dns-test", c.sync)
	if err := c.watchNodes(nodes); err != nil {
		t.Fatal(err)
	}
	h := nodes.handler
	dns, sim := node("a", "10.0.0.1", "10053", true), node("sim", "10.0.0.3", "", true)
	unlabelled := dns.DeepCopy()
	delete(unlabelled.Labels, LabelDNSPort)
	for _, tc := range []struct {
		name  string
		event func()
		want  bool
	}{
		{"add of a DNS node", func() { h.OnAdd(dns, false) }, true},
		{"add of a simulated node", func() { h.OnAdd(sim, false) }, false},
		{"update of a simulated node", func() { h.OnUpdate(sim, sim) }, false},
		{"update of a DNS node", func() { h.OnUpdate(dns, dns) }, true},
		{"label removed", func() { h.OnUpdate(dns, unlabelled) }, true},
		{"label added", func() { h.OnUpdate(unlabelled, dns) }, true},
		{"delete of a DNS node", func() { h.OnDelete(cache.DeletedFinalStateUnknown{Key: "a", Obj: dns}) }, true},
		{"delete of a simulated node", func() { h.OnDelete(sim) }, false},
	} {
		q := c.loop.Queue()
		for q.Len() > 0 {
			k, _ := q.Get()
			q.Done(k)
			q.Forget(k)
		}
		tc.event()
		if got := q.Len() > 0; got != tc.want {
			t.Errorf("%s: sync queued %v, want %v", tc.name, got, tc.want)
		}
	}
}

// recordingInformer keeps the handler registered on it.
type recordingInformer struct {
	cache.SharedIndexInformer
	handler cache.ResourceEventHandler
}

func (r *recordingInformer) AddEventHandler(h cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	r.handler = h
	return r.SharedIndexInformer.AddEventHandler(h)
}
