package endpoints

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
)

func pod(name, ip string, port int32, ready bool, mods ...func(*corev1.Pod)) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func addr(name, ip string) corev1.EndpointAddress {
	return corev1.EndpointAddress{IP: ip, NodeName: ptr.To("n1"),
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: name, UID: types.UID(name)}}
}

func TestSubsets(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.1", IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")},
			{Name: "admin", Port: 81, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9000)},
		}},
	}
	pods := []*corev1.Pod{
		pod("b", "10.1.0.2", 8080, true),
		pod("a", "10.1.0.1", 8080, false),
		pod("c", "10.1.0.3", 8081, true),
		pod("done", "10.1.0.4", 8080, true, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		pod("gone", "10.1.0.5", 8080, true, func(p *corev1.Pod) { p.DeletionTimestamp = ptr.To(metav1.Now()) }),
		pod("noip", "", 8080, true, func(p *corev1.Pod) { p.Status.PodIPs = nil }),
		pod("v6", "fd00::1", 8080, true),
	}
	got := subsets(logger, svc, pods)
	want := []corev1.EndpointSubset{
		{
			Addresses: []corev1.EndpointAddress{addr("b", "10.1.0.2")}, NotReadyAddresses: []corev1.EndpointAddress{addr("a", "10.1.0.1")},
			Ports: []corev1.EndpointPort{{Name: "admin", Port: 9000, Protocol: corev1.ProtocolTCP}, {Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
		},
		{
			Addresses: []corev1.EndpointAddress{addr("c", "10.1.0.3")},
			Ports:     []corev1.EndpointPort{{Name: "admin", Port: 9000, Protocol: corev1.ProtocolTCP}, {Name: "http", Port: 8081, Protocol: corev1.ProtocolTCP}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subsets (-want +got):\n%s", diff)
	}

	// publishNotReadyAddresses: all ready, terminating pods too.
	svc.Spec.PublishNotReadyAddresses = true
	got = subsets(logger, svc, pods[:2])
	if len(got) != 1 || len(got[0].Addresses) != 2 || len(got[0].NotReadyAddresses) != 0 {
		t.Errorf("publishNotReadyAddresses subsets = %+v", got)
	}
	got = subsets(logger, svc, pods[4:5])
	if len(got) != 1 || len(got[0].Addresses) != 1 {
		t.Errorf("publishNotReadyAddresses with a terminating pod = %+v", got)
	}
}

func TestTruncate(t *testing.T) {
	mk := func(ready, notReady int) corev1.EndpointSubset {
		var s corev1.EndpointSubset
		for i := range ready {
			s.Addresses = append(s.Addresses, corev1.EndpointAddress{IP: fmt.Sprint("r", i)})
		}
		for i := range notReady {
			s.NotReadyAddresses = append(s.NotReadyAddresses, corev1.EndpointAddress{IP: fmt.Sprint("n", i)})
		}
		return s
	}
	for _, tc := range []struct {
		name     string
		in       []corev1.EndpointSubset
		cut      bool
		ready    []int
		notReady []int
	}{
		{"under", []corev1.EndpointSubset{mk(600, 400)}, false, []int{600}, []int{400}},
		{"not ready cut", []corev1.EndpointSubset{mk(600, 300), mk(100, 300)}, true, []int{600, 100}, []int{150, 150}},
		{"ready cut", []corev1.EndpointSubset{mk(900, 10), mk(300, 10)}, true, []int{750, 250}, []int{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if cut := truncate(tc.in, MaxAddresses); cut != tc.cut {
				t.Errorf("truncated = %v, want %v", cut, tc.cut)
			}
			for i, s := range tc.in {
				if len(s.Addresses) != tc.ready[i] || len(s.NotReadyAddresses) != tc.notReady[i] {
					t.Errorf("subset %d: %d ready, %d not ready; want %d, %d", i, len(s.Addresses), len(s.NotReadyAddresses), tc.ready[i], tc.notReady[i])
				}
			}
		})
	}
}
