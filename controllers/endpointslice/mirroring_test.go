package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
)

func TestMirroring(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	var made []*discoveryv1.EndpointSlice
	client.PrependReactor("create", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice).DeepCopy()
		s.Name = fmt.Sprintf("%s%d", s.GenerateName, len(made))
		s.UID, s.ResourceVersion = types.UID(s.Name), "1"
		made = append(made, s)
		return true, s, nil
	})
	f := informers.NewSharedInformerFactory(client, 0)
	events := record.NewFakeRecorder(10)
	m, err := NewMirroring(MirroringConfig{Client: client, Services: f.Core().V1().Services(), Endpoints: f.Core().V1().Endpoints(),
		EndpointSlices: f.Discovery().V1().EndpointSlices(), Events: events})
	if err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "ns"}}
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: "ns", UID: "ep-uid", Labels: map[string]string{"team": "a"},
			Annotations: map[string]string{"note": "x", corev1.EndpointsLastChangeTriggerTime: "t"}},
		Subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{{IP: "192.0.2.1", Hostname: "one"}, {IP: "fd00::1"}, {IP: "not-an-ip"}},
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "192.0.2.2"}},
			Ports:             []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		}},
	}
	if err := f.Core().V1().Services().Informer().GetIndexer().Add(svc); err != nil {
		t.Fatal(err)
	}
	if err := f.Core().V1().Endpoints().Informer().GetIndexer().Add(ep); err != nil {
		t.Fatal(err)
	}
	if err := m.sync(ctx, "ns/ext"); err != nil {
		t.Fatal(err)
	}
	if len(made) != 2 {
		t.Fatalf("mirrored into %d slices, want 2 (IPv4 and IPv6)", len(made))
	}
	for _, s := range made {
		if s.Labels["team"] != "a" || s.Labels[discoveryv1.LabelManagedBy] != MirroringControllerName || s.Labels[discoveryv1.LabelServiceName] != "ext" {
			t.Errorf("labels %v", s.Labels)
		}
		if s.Annotations["note"] != "x" || s.Annotations[corev1.EndpointsLastChangeTriggerTime] != "" {
			t.Errorf("annotations %v", s.Annotations)
		}
		if ref := metav1.GetControllerOf(s); ref == nil || ref.Kind != "Endpoints" || ref.UID != "ep-uid" {
			t.Errorf("owner %+v", ref)
		}
		if s.AddressType == discoveryv1.AddressTypeIPv4 {
			if fmt.Sprint(readyIPs(s, true), readyIPs(s, false)) != "[192.0.2.1] [192.0.2.2]" || *s.Endpoints[0].Hostname != "one" {
				t.Errorf("IPv4 slice endpoints %+v", s.Endpoints)
			}
		}
	}
	if got := <-events.Events; got != "Warning InvalidIPAddress Skipped 1 invalid IP addresses when mirroring to EndpointSlices" {
		t.Errorf("event %q", got)
	}

	// Once the Service has a selector, the mirrored slices go.
	for _, s := range made {
		if err := f.Discovery().V1().EndpointSlices().Informer().GetIndexer().Add(s); err != nil {
			t.Fatal(err)
		}
	}
	client.ClearActions()
	svc = svc.DeepCopy()
	svc.Spec.Selector = map[string]string{"app": "x"}
	if err := f.Core().V1().Services().Informer().GetIndexer().Update(svc); err != nil {
		t.Fatal(err)
	}
	if err := m.sync(ctx, "ns/ext"); err != nil {
		t.Fatal(err)
	}
	deletes := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "delete" {
			deletes++
		}
	}
	if deletes != 2 {
		t.Errorf("%d slices deleted, want 2", deletes)
	}
}

// readyIPs returns the addresses of the slice's endpoints whose ready
// condition is ready.
func readyIPs(s *discoveryv1.EndpointSlice, ready bool) []string {
	var out []string
	for _, e := range s.Endpoints {
		if e.Conditions.Ready != nil && *e.Conditions.Ready == ready {
			out = append(out, e.Addresses...)
		}
	}
	return out
}
