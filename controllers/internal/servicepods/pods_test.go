package servicepods

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestPort(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{
			{Name: "init", Ports: []corev1.ContainerPort{{Name: "setup", ContainerPort: 1}}},
			{Name: "proxy", RestartPolicy: &always, Ports: []corev1.ContainerPort{{Name: "proxy", ContainerPort: 15001}}},
		},
		Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080},
			{Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolUDP},
		}}},
	}}
	for _, tc := range []struct {
		name   string
		port   corev1.ServicePort
		want   int32
		failed bool
	}{
		{"number", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(9000)}, 9000, false},
		{"name", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}, 8080, false},
		{"name with protocol", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}, 5353, false},
		{"protocol mismatch", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("dns")}, 0, true},
		{"sidecar", corev1.ServicePort{Port: 15001, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("proxy")}, 15001, false},
		{"plain init container", corev1.ServicePort{Port: 1, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("setup")}, 0, true},
		{"missing", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("nope")}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Port(pod, &tc.port)
			if (err != nil) != tc.failed || got != tc.want {
				t.Errorf("Port = %d, %v; want %d, failed %v", got, err, tc.want, tc.failed)
			}
		})
	}
}

func TestIP(t *testing.T) {
	pod := &corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00:0::1"}}}}
	if got := IP(pod, corev1.IPv4Protocol); got != "10.0.0.1" {
		t.Errorf("IPv4 = %q", got)
	}
	if got := IP(pod, corev1.IPv6Protocol); got != "fd00::1" {
		t.Errorf("IPv6 = %q, want the canonical fd00::1", got)
	}
	if got := IP(&corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1"}}, corev1.IPv6Protocol); got != "" {
		t.Errorf("IPv6 of a single-stack pod = %q", got)
	}
}

func TestIncluded(t *testing.T) {
	running := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}
	deleting := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: ptr.To(metav1.Now())}, Status: running}
	if !Included(&corev1.Pod{Status: running}, false) || Included(deleting, false) || !Included(deleting, true) {
		t.Error("running or terminating pods misjudged")
	}
	if Included(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, PodIP: "10.0.0.1"}}, true) ||
		Included(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}, true) {
		t.Error("finished pod or pod without IP included")
	}
}

func TestTriggerTimes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", CreationTimestamp: metav1.NewTime(t0)}}
	readyAt := func(name string, at time.Time) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at)}}}}
	}
	var tt TriggerTimes
	a := readyAt("a", t0.Add(time.Second))
	if got := tt.Compute(svc, []*corev1.Pod{a}); !got.Equal(t0) {
		t.Errorf("first sync = %v, want the service's creation %v", got, t0)
	}
	if got := tt.Compute(svc, []*corev1.Pod{a}); !got.IsZero() {
		t.Errorf("unchanged = %v, want zero", got)
	}
	b := readyAt("b", t0.Add(3*time.Second))
	a = readyAt("a", t0.Add(5*time.Second))
	if got := tt.Compute(svc, []*corev1.Pod{a, b}); !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("two changes = %v, want the earlier %v", got, t0.Add(3*time.Second))
	}
	tt.Forget("ns/web")
	if got := tt.Compute(svc, []*corev1.Pod{a, b}); !got.Equal(t0) {
		t.Errorf("after Forget = %v, want the service's creation", got)
	}
}
