package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
)

func testService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"tier": "front"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: "10.0.0.10", IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}},
		},
	}
}

func testPod(i int, port int32, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "ns", UID: types.UID(fmt.Sprintf("uid-%d", i)),
			Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      fmt.Sprintf("10.1.%d.%d", i/250, i%250+1),
			PodIPs:     []corev1.PodIP{{IP: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
}

// play plays a plan onto the slices, as the API server would.
func play(existing []*discoveryv1.EndpointSlice, p plan, next *int) []*discoveryv1.EndpointSlice {
	byName := map[string]*discoveryv1.EndpointSlice{}
	var order []string
	for _, s := range existing {
		byName[s.Name] = s
		order = append(order, s.Name)
	}
	for _, s := range p.update {
		byName[s.Name] = s
	}
	for _, s := range p.delete {
		delete(byName, s.Name)
	}
	for _, s := range p.create {
		s = s.DeepCopy()
		*next++
		s.Name = fmt.Sprintf("%s%05d", s.GenerateName, *next)
		byName[s.Name] = s
		order = append(order, s.Name)
	}
	var out []*discoveryv1.EndpointSlice
	for _, n := range order {
		if s, ok := byName[n]; ok {
			out = append(out, s)
		}
	}
	return out
}

func TestPlan(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	nodes := informers.NewSharedInformerFactory(fake.NewClientset(), 0).Core().V1().Nodes().Lister()
	svc := testService()
	plan := func(pods []*corev1.Pod, existing []*discoveryv1.EndpointSlice) plan {
		d, err := want(logger, svc, pods, nodes)
		if err != nil {
			t.Fatal(err)
		}
		return newPlan(serviceTemplate(svc), d, existing, 100)
	}
	next := 0

	// 250 pods, two named-port variants: 200 on 8080, 50 on 9090.
	var pods []*corev1.Pod
	for i := range 250 {
		port := int32(8080)
		if i >= 200 {
			port = 9090
		}
		pods = append(pods, testPod(i, port, i%2 == 0))
	}
	p := plan(pods, nil)
	if len(p.create) != 3 || len(p.update) != 0 || len(p.delete) != 0 {
		t.Fatalf("first plan: %d creates, %d updates, %d deletes; want 3, 0, 0", len(p.create), len(p.update), len(p.delete))
	}
	sizes := map[int32]int{}
	for _, s := range p.create {
		if len(s.Endpoints) > 100 {
			t.Errorf("slice with %d endpoints", len(s.Endpoints))
		}
		sizes[*s.Ports[0].Port] += len(s.Endpoints)
		if s.Labels[discoveryv1.LabelServiceName] != "web" || s.Labels[discoveryv1.LabelManagedBy] != ControllerName || s.Labels["tier"] != "front" {
			t.Errorf("labels %v", s.Labels)
		}
		if ref := metav1.GetControllerOf(s); ref == nil || ref.UID != svc.UID || ref.Kind != "Service" {
			t.Errorf("owner %+v", ref)
		}
	}
	if sizes[8080] != 200 || sizes[9090] != 50 {
		t.Errorf("endpoints per port = %v", sizes)
	}
	for _, s := range p.create {
		for _, e := range s.Endpoints {
			i := 0
			fmt.Sscanf(e.TargetRef.Name, "p%d", &i)
			if *e.Conditions.Ready != (i%2 == 0) || *e.Conditions.Serving != (i%2 == 0) || *e.Conditions.Terminating {
				t.Errorf("endpoint %s conditions %+v", e.TargetRef.Name, e.Conditions)
			}
		}
	}
	slices := play(nil, p, &next)

	// Settled: nothing to write.
	if p := plan(pods, slices); len(p.create)+len(p.update)+len(p.delete) != 0 {
		t.Errorf("settled plan not empty: %d creates, %d updates, %d deletes", len(p.create), len(p.update), len(p.delete))
	}

	// One pod becomes ready and one terminates: only their slice changes.
	pods[1] = testPod(1, 8080, true)
	pods[3].DeletionTimestamp = ptr.To(metav1.Now())
	p = plan(pods, slices)
	if len(p.create) != 0 || len(p.update) != 1 || len(p.delete) != 0 {
		t.Fatalf("plan after two pod changes: %d creates, %d updates, %d deletes; want 0, 1, 0", len(p.create), len(p.update), len(p.delete))
	}
	for _, e := range p.update[0].Endpoints {
		if e.TargetRef.Name == "p3" && (*e.Conditions.Ready || !*e.Conditions.Terminating) {
			t.Errorf("terminating endpoint conditions %+v", e.Conditions)
		}
	}
	slices = play(slices, p, &next)

	// Every 9090 pod goes: its slice is deleted. All pods go: one
	// placeholder remains, made from a reused slice.
	p = plan(pods[:200], slices)
	if len(p.create) != 0 || len(p.update) != 0 || len(p.delete) != 1 {
		t.Fatalf("plan without 9090 pods: %d creates, %d updates, %d deletes; want 0, 0, 1", len(p.create), len(p.update), len(p.delete))
	}
	slices = play(slices, p, &next)
	p = plan(nil, slices)
	if len(p.create) != 0 || len(p.update) != 1 || len(p.delete) != 1 || len(p.update[0].Endpoints) != 0 || len(p.update[0].Ports) != 0 {
		t.Fatalf("plan without pods: %d creates, %d updates, %d deletes; want a placeholder update and a delete", len(p.create), len(p.update), len(p.delete))
	}
	slices = play(slices, p, &next)
	if p := plan(nil, slices); len(p.create)+len(p.update)+len(p.delete) != 0 {
		t.Errorf("placeholder not kept: %d creates, %d updates, %d deletes", len(p.create), len(p.update), len(p.delete))
	}

	// Slices of an older Service of the same name are replaced.
	svc.UID = "new-uid"
	p = plan(pods[:1], slices)
	if len(p.create) != 1 || len(p.delete) != 1 || len(p.update) != 0 {
		t.Errorf("plan for a new service: %d creates, %d updates, %d deletes; want 1, 0, 1", len(p.create), len(p.update), len(p.delete))
	}
}

func TestAddressTypes(t *testing.T) {
	for _, tc := range []struct {
		svc  corev1.ServiceSpec
		want string
	}{
		{corev1.ServiceSpec{IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}}, "[IPv6 IPv4]"},
		{corev1.ServiceSpec{ClusterIP: "fd00::1"}, "[IPv6]"},
		{corev1.ServiceSpec{ClusterIP: "10.0.0.1"}, "[IPv4]"},
		{corev1.ServiceSpec{ClusterIP: "None"}, "[IPv4 IPv6]"},
	} {
		if got := fmt.Sprint(addressTypes(&corev1.Service{Spec: tc.svc})); got != tc.want {
			t.Errorf("addressTypes(%+v) = %s, want %s", tc.svc, got, tc.want)
		}
	}
}
