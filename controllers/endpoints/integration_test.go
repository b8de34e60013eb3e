package endpoints_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/controllers/endpoints"
	"github.com/kubelite/kubelite/controllers/endpointslice"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// TestServiceEndpoints runs the endpoints and endpointslice controllers in a
// real server with one simulated node agent, so that pods bound to the node
// become Running and Ready with pod IPs, and checks both the Endpoints and
// the EndpointSlices of Services.
func TestServiceEndpoints(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client
	node := startAgent(t, c)
	ns := "ep"
	s.CreateNamespace(t, ns)

	t.Run("ready pods, named and numbered ports", func(t *testing.T) {
		createService(t, c, ns, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"tier": "front"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9091)},
			}},
		})
		a := createPod(t, c, ns, node, "web-a", map[string]string{"app": "web"}, nil)
		b := createPod(t, c, ns, node, "web-b", map[string]string{"app": "web"}, nil)
		want := []string{a.Status.PodIP, b.Status.PodIP}
		slices.Sort(want)

		ep := waitEndpoints(t, c, ns, "web", func(ep *corev1.Endpoints) bool {
			return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), want)
		})
		sub := ep.Subsets[0]
		if got := fmt.Sprint(sub.Ports); !strings.Contains(got, "http 8080 TCP") || !strings.Contains(got, "metrics 9091 TCP") {
			t.Errorf("endpoints ports = %v, want http 8080 and metrics 9091", sub.Ports)
		}
		addr := sub.Addresses[0]
		if addr.NodeName == nil || *addr.NodeName != node || addr.TargetRef == nil || addr.TargetRef.Kind != "Pod" || addr.TargetRef.UID == "" {
			t.Errorf("address = %+v", addr)
		}
		if ep.Labels[endpoints.LabelManagedBy] != endpoints.ControllerName || ep.Labels["tier"] != "front" {
			t.Errorf("endpoints labels = %v", ep.Labels)
		}

		slice := waitSlice(t, c, ns, "web", func(s *discoveryv1.EndpointSlice) bool {
			return len(readyIPs(s, true)) == 2
		})
		if slice.AddressType != discoveryv1.AddressTypeIPv4 || len(slice.Ports) != 2 {
			t.Errorf("slice address type %s, ports %d", slice.AddressType, len(slice.Ports))
		}
		for _, p := range slice.Ports {
			if *p.Name == "http" && *p.Port != 8080 || *p.Name == "metrics" && *p.Port != 9091 {
				t.Errorf("slice port %s = %d", *p.Name, *p.Port)
			}
		}
		if got := readyIPs(slice, true); !slices.Equal(got, want) {
			t.Errorf("slice ready addresses = %v, want %v", got, want)
		}
		if ref := metav1.GetControllerOf(slice); ref == nil || ref.Kind != "Service" || ref.Name != "web" {
			t.Errorf("slice owner = %+v", ref)
		}
		if slice.Labels["tier"] != "front" || slice.Labels[discoveryv1.LabelManagedBy] != endpointslice.ControllerName {
			t.Errorf("slice labels = %v", slice.Labels)
		}
		for _, e := range slice.Endpoints {
			if e.NodeName == nil || *e.NodeName != node || !*e.Conditions.Serving || *e.Conditions.Terminating {
				t.Errorf("slice endpoint = %+v", e)
			}
		}

		// A deleted pod leaves both.
		if err := c.CoreV1().Pods(ns).Delete(t.Context(), "web-a", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitEndpoints(t, c, ns, "web", func(ep *corev1.Endpoints) bool {
			return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{b.Status.PodIP}) &&
				len(ep.Subsets[0].NotReadyAddresses) == 0
		})
		waitSlice(t, c, ns, "web", func(s *discoveryv1.EndpointSlice) bool {
			return len(s.Endpoints) == 1 && slices.Equal(readyIPs(s, true), []string{b.Status.PodIP})
		})

		// A deleted Service takes its Endpoints and (through the garbage
		// collector) its slices along.
		if err := c.CoreV1().Services(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Errorf("endpoints of a deleted service still there")
		}
		waitSlices(t, c, ns, discoveryv1.LabelServiceName+"=web", func(l []discoveryv1.EndpointSlice) bool { return len(l) == 0 })
	})

	t.Run("service without pods", func(t *testing.T) {
		svc := createService(t, c, ns, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "empty"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "none"},
				Ports: []corev1.ServicePort{{Port: 80}}},
		})
		// The first sync of a Service reports its creation as the trigger.
		created := svc.CreationTimestamp.UTC().Format(time.RFC3339Nano)
		ep := waitEndpoints(t, c, ns, "empty", func(*corev1.Endpoints) bool { return true })
		if len(ep.Subsets) != 0 || ep.Annotations[corev1.EndpointsLastChangeTriggerTime] != created {
			t.Errorf("endpoints of a service without pods: %+v, want no subsets and trigger time %s", ep, created)
		}
		// One empty placeholder slice.
		slice := waitSlice(t, c, ns, "empty", func(*discoveryv1.EndpointSlice) bool { return true })
		if len(slice.Endpoints) != 0 || len(slice.Ports) != 0 || slice.Annotations[corev1.EndpointsLastChangeTriggerTime] != created {
			t.Errorf("placeholder slice: %+v, want no endpoints or ports and trigger time %s", slice, created)
		}
	})

	t.Run("pod going unready moves to not ready", func(t *testing.T) {
		createService(t, c, ns, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "flaky"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "flaky"},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		})
		// Ready at first, then the readiness probe fails.
		p := createPod(t, c, ns, node, "flaky", map[string]string{"app": "flaky"},
			map[string]string{simulated.AnnotationPrefix + "app": "readiness=Failure@4s"})
		waitEndpoints(t, c, ns, "flaky", func(ep *corev1.Endpoints) bool {
			return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{p.Status.PodIP})
		})
		ep := waitEndpoints(t, c, ns, "flaky", func(ep *corev1.Endpoints) bool {
			return len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 0 &&
				slices.Equal(ips(ep.Subsets[0].NotReadyAddresses), []string{p.Status.PodIP})
		})
		if ep.Subsets[0].Ports[0].Port != 8080 {
			t.Errorf("ports = %+v", ep.Subsets[0].Ports)
		}
		waitSlice(t, c, ns, "flaky", func(s *discoveryv1.EndpointSlice) bool {
			return len(s.Endpoints) == 1 && slices.Equal(readyIPs(s, false), []string{p.Status.PodIP}) &&
				!*s.Endpoints[0].Conditions.Serving
		})
	})

	t.Run("headless service with hostnames", func(t *testing.T) {
		createService(t, c, ns, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "db"},
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "db"}},
		})
		p := newPod(node, "db-0", map[string]string{"app": "db"}, nil)
		p.Spec.Hostname, p.Spec.Subdomain = "db-0", "db"
		p = runPod(t, c, ns, p)
		ep := waitEndpoints(t, c, ns, "db", func(ep *corev1.Endpoints) bool {
			return len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1
		})
		if a := ep.Subsets[0].Addresses[0]; a.IP != p.Status.PodIP || a.Hostname != "db-0" || len(ep.Subsets[0].Ports) != 0 {
			t.Errorf("headless subset = %+v", ep.Subsets[0])
		}
		if _, ok := ep.Labels[corev1.IsHeadlessService]; !ok {
			t.Errorf("endpoints labels = %v, want the headless label", ep.Labels)
		}
		slice := waitSlice(t, c, ns, "db", func(s *discoveryv1.EndpointSlice) bool { return len(s.Endpoints) == 1 })
		if e := slice.Endpoints[0]; e.Hostname == nil || *e.Hostname != "db-0" || len(slice.Ports) != 0 {
			t.Errorf("headless slice = %+v", slice)
		}
		if _, ok := slice.Labels[corev1.IsHeadlessService]; !ok {
			t.Errorf("slice labels = %v, want the headless label", slice.Labels)
		}
	})

	t.Run("publishNotReadyAddresses", func(t *testing.T) {
		createService(t, c, ns, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "peers"},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, PublishNotReadyAddresses: true,
				Selector: map[string]string{"app": "peers"},
				Ports:    []corev1.ServicePort{{Name: "gossip", Port: 7000}}},
		})
		p := newPod(node, "peer-0", map[string]string{"app": "peers"},
			map[string]string{simulated.AnnotationPrefix + "app": "readiness=Failure"})
		p = runPod(t, c, ns, p)
		waitEndpoints(t, c, ns, "peers", func(ep *corev1.Endpoints) bool {
			return len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{p.Status.PodIP})
		})
		slice := waitSlice(t, c, ns, "peers", func(s *discoveryv1.EndpointSlice) bool {
			return slices.Equal(readyIPs(s, true), []string{p.Status.PodIP})
		})
		if *slice.Endpoints[0].Conditions.Serving {
			t.Errorf("unready pod's endpoint serving: %+v", slice.Endpoints[0].Conditions)
		}

		// Settled: neither is written again.
		ep := waitEndpoints(t, c, ns, "peers", func(*corev1.Endpoints) bool { return true })
		time.Sleep(1500 * time.Millisecond)
		if again := waitEndpoints(t, c, ns, "peers", func(*corev1.Endpoints) bool { return true }); again.ResourceVersion != ep.ResourceVersion {
			t.Errorf("settled endpoints written again: resourceVersion %s -> %s", ep.ResourceVersion, again.ResourceVersion)
		}
		if again := waitSlice(t, c, ns, "peers", func(*discoveryv1.EndpointSlice) bool { return true }); again.ResourceVersion != slice.ResourceVersion {
			t.Errorf("settled slice written again: resourceVersion %s -> %s", slice.ResourceVersion, again.ResourceVersion)
		}
	})

	t.Run("selectorless service left alone", func(t *testing.T) {
		createService(t, c, ns, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "external"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
		})
		mine := &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Name: "external"},
			Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "192.0.2.10"}},
				Ports:     []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}},
			}},
		}
		created, err := c.CoreV1().Endpoints(ns).Create(t.Context(), mine, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		got, err := c.CoreV1().Endpoints(ns).Get(t.Context(), "external", metav1.GetOptions{})
		if err != nil || got.ResourceVersion != created.ResourceVersion {
			t.Fatalf("user's endpoints changed or gone: %v, %+v", err, got)
		}
		list, err := c.DiscoveryV1().EndpointSlices(ns).List(t.Context(), metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=external," + discoveryv1.LabelManagedBy + "=" + endpointslice.ControllerName})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("managed slices of a selectorless service: %v, %d", err, len(list.Items))
		}
		// The mirroring controller copies the user's Endpoints into a slice,
		// and follows changes.
		mirrored := discoveryv1.LabelServiceName + "=external," + discoveryv1.LabelManagedBy + "=" + endpointslice.MirroringControllerName
		waitSlices(t, c, ns, mirrored, func(l []discoveryv1.EndpointSlice) bool {
			return len(l) == 1 && slices.Equal(readyIPs(&l[0], true), []string{"192.0.2.10"}) &&
				len(l[0].Ports) == 1 && *l[0].Ports[0].Port == 80
		})
		got.Subsets[0].NotReadyAddresses = []corev1.EndpointAddress{{IP: "192.0.2.11"}}
		if _, err := c.CoreV1().Endpoints(ns).Update(t.Context(), got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitSlices(t, c, ns, mirrored, func(l []discoveryv1.EndpointSlice) bool {
			return len(l) == 1 && slices.Equal(readyIPs(&l[0], false), []string{"192.0.2.11"})
		})
		if err := c.CoreV1().Endpoints(ns).Delete(t.Context(), "external", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitSlices(t, c, ns, mirrored, func(l []discoveryv1.EndpointSlice) bool { return len(l) == 0 })

		k, err := c.CoreV1().Endpoints("default").Get(t.Context(), "kubernetes", metav1.GetOptions{})
		if err == nil && k.Labels[endpoints.LabelManagedBy] != "" {
			t.Errorf("kubernetes endpoints taken over: %v", k.Labels)
		}
	})
}
