package servicelb

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func node(name, ip string, proxy, isReady bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}}}}
	if proxy {
		n.Labels[LabelServiceProxy] = "nftables"
	}
	st := corev1.ConditionFalse
	if isReady {
		st = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}
	return n
}

func lb(name string, age time.Duration, port int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(time.Unix(1e9, 0).Add(-age))},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Port: port, Protocol: corev1.ProtocolTCP}}},
	}
}

func TestIngress(t *testing.T) {
	older := lb("older", time.Hour, 80)
	newer := lb("newer", time.Minute, 80) // same port: no ingress
	other := lb("other", time.Minute, 81)
	classed := lb("classed", time.Minute, 82)
	classed.Spec.LoadBalancerClass = ptr.To("example.com/lb")
	plain := lb("plain", time.Minute, 83)
	plain.Spec.Type = corev1.ServiceTypeClusterIP
	plain.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.0.0.9"}}
	client := fake.NewClientset(older, newer, other, classed, plain,
		node("a", "10.0.0.2", true, true), node("b", "10.0.0.1", true, true),
		node("c", "10.0.0.3", false, true), node("d", "10.0.0.4", true, false))
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Services: factory.Core().V1().Services(), Nodes: factory.Core().V1().Nodes()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	for _, k := range []string{"ns/older", "ns/newer", "ns/other", "ns/classed", "ns/plain"} {
		if err := c.sync(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	vip := ptr.To(corev1.LoadBalancerIPModeVIP)
	both := []corev1.LoadBalancerIngress{{IP: "10.0.0.1", IPMode: vip}, {IP: "10.0.0.2", IPMode: vip}}
	for name, want := range map[string][]corev1.LoadBalancerIngress{
		"older": both, "other": both, "newer": nil, "classed": nil, "plain": nil,
	} {
		got, _ := client.CoreV1().Services("ns").Get(ctx, name, metav1.GetOptions{})
		if diff := cmp.Diff(want, got.Status.LoadBalancer.Ingress); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
