package endpoints_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubelite/kubelite/controllers/endpointslice"
	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

func startAgent(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	node := nodeagent.SimulatedNodeConfig("sim-ep", 0, false)
	rt, err := simulated.New(simulated.Config{PodCIDRs: node.PodCIDRs})
	if err != nil {
		t.Fatal(err)
	}
	a, err := nodeagent.New(nodeagent.Config{Node: node, Client: c, Runtime: rt, RestartBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("agent stopped: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return node.Name
}

func createService(t *testing.T, c kubernetes.Interface, ns string, svc *corev1.Service) *corev1.Service {
	t.Helper()
	svc, err := c.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newPod(node, name string, labels, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{
			Name: "app", Image: "registry.k8s.io/pause:3.10",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}}}},
		}}},
	}
}

func createPod(t *testing.T, c kubernetes.Interface, ns, node, name string, labels, annotations map[string]string) *corev1.Pod {
	t.Helper()
	return runPod(t, c, ns, newPod(node, name, labels, annotations))
}

// runPod creates the pod and waits until it is Running with an IP.
func runPod(t *testing.T, c kubernetes.Interface, ns string, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	if _, err := c.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = got
		return got.Status.Phase == corev1.PodRunning && got.Status.PodIP != "", nil
	})
	if err != nil {
		t.Fatalf("pod %s never Running with an IP: %+v", p.Name, last.Status)
	}
	return last
}

func waitEndpoints(t *testing.T, c kubernetes.Interface, ns, name string, ok func(*corev1.Endpoints) bool) *corev1.Endpoints {
	t.Helper()
	var last *corev1.Endpoints
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		ep, err := c.CoreV1().Endpoints(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = ep
		return ok(ep), nil
	})
	if err != nil {
		t.Fatalf("endpoints %s never as expected; last: %+v", name, last)
	}
	return last
}

// waitSlice waits until the Service has exactly one managed IPv4 slice and
// ok holds for it.
func waitSlice(t *testing.T, c kubernetes.Interface, ns, svc string, ok func(*discoveryv1.EndpointSlice) bool) *discoveryv1.EndpointSlice {
	t.Helper()
	var last []discoveryv1.EndpointSlice
	sel := discoveryv1.LabelServiceName + "=" + svc + "," + discoveryv1.LabelManagedBy + "=" + endpointslice.ControllerName
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, nil
		}
		last = list.Items
		return len(list.Items) == 1 && ok(&list.Items[0]), nil
	})
	if err != nil {
		t.Fatalf("slices of %s never as expected; last: %+v", svc, last)
	}
	return &last[0]
}

// waitSlices waits until ok holds for the slices the label selector sel
// selects.
func waitSlices(t *testing.T, c kubernetes.Interface, ns, sel string, ok func([]discoveryv1.EndpointSlice) bool) {
	t.Helper()
	var last []discoveryv1.EndpointSlice
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, nil
		}
		last = list.Items
		return ok(list.Items), nil
	})
	if err != nil {
		t.Fatalf("slices %s never as expected; last: %+v", sel, last)
	}
}

func ips(addrs []corev1.EndpointAddress) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, a.IP)
	}
	slices.Sort(out)
	return out
}

// readyIPs returns the sorted addresses of the slice's endpoints whose ready
// condition is ready.
func readyIPs(s *discoveryv1.EndpointSlice, ready bool) []string {
	var out []string
	for _, e := range s.Endpoints {
		if e.Conditions.Ready != nil && *e.Conditions.Ready == ready {
			out = append(out, e.Addresses...)
		}
	}
	slices.Sort(out)
	return out
}
