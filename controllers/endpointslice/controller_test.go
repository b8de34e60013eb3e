package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

func TestSync(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	n := 0
	var made []*discoveryv1.EndpointSlice
	// The fake clientset neither generates names nor sets uids and
	// resourceVersions; the API server would.
	client.PrependReactor("create", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice)
		n++
		s = s.DeepCopy()
		s.Name, s.UID, s.ResourceVersion = fmt.Sprintf("%s%d", s.GenerateName, n), types.UID(fmt.Sprint("slice-", n)), fmt.Sprint(n)
		made = append(made, s)
		return true, s, nil
	})
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Services: f.Core().V1().Services(), Pods: f.Core().V1().Pods(),
		Nodes: f.Core().V1().Nodes(), EndpointSlices: f.Discovery().V1().EndpointSlices()})
	if err != nil {
		t.Fatal(err)
	}
	svc := testService()
	p := testPod(1, 8080, true)
	p.Spec.NodeName = "n1"
	node := &corev1.Node{}
	node.Name, node.Labels = "n1", map[string]string{corev1.LabelTopologyZone: "z1"}
	for _, add := range []func() error{
		func() error { return f.Core().V1().Services().Informer().GetIndexer().Add(svc) },
		func() error { return f.Core().V1().Pods().Informer().GetIndexer().Add(p) },
		func() error { return f.Core().V1().Nodes().Informer().GetIndexer().Add(node) },
	} {
		if err := add(); err != nil {
			t.Fatal(err)
		}
	}
	writes := func() []k8stesting.Action {
		var out []k8stesting.Action
		for _, a := range client.Actions() {
			if v := a.GetVerb(); v == "create" || v == "update" || v == "delete" {
				out = append(out, a)
			}
		}
		client.ClearActions()
		return out
	}

	if err := c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	w := writes()
	if len(w) != 1 || w[0].GetVerb() != "create" {
		t.Fatalf("first sync wrote %v, want one create", w)
	}
	slice := made[0]
	if e := slice.Endpoints[0]; e.Zone == nil || *e.Zone != "z1" || *e.NodeName != "n1" {
		t.Errorf("endpoint = %+v, want zone z1 on node n1", e)
	}

	// Until the cache shows the new slice, a sync writes nothing and fails.
	if err := c.sync(ctx, "ns/web"); err == nil {
		t.Error("sync on a stale cache succeeded")
	}
	if w := writes(); len(w) != 0 {
		t.Errorf("sync on a stale cache wrote %v", w)
	}
	if err := f.Discovery().V1().EndpointSlices().Informer().GetIndexer().Add(slice); err != nil {
		t.Fatal(err)
	}
	if c.tracker.observe("ns/web", slice) {
		t.Error("the echo of the controller's own create counted as news")
	}
	if err := c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if w := writes(); len(w) != 0 {
		t.Errorf("settled sync wrote %v", w)
	}

	// A pod on an unknown node is left out and the Service synced again.
	q := testPod(2, 8080, true)
	q.Spec.NodeName = "n2"
	if err := f.Core().V1().Pods().Informer().GetIndexer().Add(q); err != nil {
		t.Fatal(err)
	}
	if err := c.sync(ctx, "ns/web"); err == nil {
		t.Error("sync with a pod on an unknown node did not ask to be retried")
	}
	if w := writes(); len(w) != 0 {
		t.Errorf("pod on an unknown node: sync wrote %v", w)
	}
}
