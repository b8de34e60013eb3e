package nodeports

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

// TestFilter: upstream's conflict rules for host ports: same IP, port and
// protocol conflict; 0.0.0.0 conflicts with every IP; another protocol or
// another specific IP does not; ordinary init containers' ports are not
// held, sidecars' are.
func TestFilter(t *testing.T) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	always := corev1.ContainerRestartPolicyAlways
	sidecar := ft.MakePod("sidecar").Obj()
	sidecar.Spec.InitContainers = []corev1.Container{{Name: "s", RestartPolicy: &always,
		Ports: []corev1.ContainerPort{{HostPort: 8080, ContainerPort: 8080}}}}
	initOnly := ft.MakePod("init").Obj()
	initOnly.Spec.InitContainers = []corev1.Container{{Name: "i", Ports: []corev1.ContainerPort{{HostPort: 8080, ContainerPort: 8080}}}}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing []*corev1.Pod
		want     framework.Code
	}{
		{"no ports", ft.MakePod("p").Obj(), []*corev1.Pod{ft.MakePod("e").HostPort("", tcp, 80).Obj()}, framework.Success},
		{"free", ft.MakePod("p").HostPort("", tcp, 80).Obj(), nil, framework.Success},
		{"same port", ft.MakePod("p").HostPort("", tcp, 80).Obj(), []*corev1.Pod{ft.MakePod("e").HostPort("", "", 80).Obj()}, framework.Unschedulable},
		{"other protocol", ft.MakePod("p").HostPort("", udp, 80).Obj(), []*corev1.Pod{ft.MakePod("e").HostPort("", tcp, 80).Obj()}, framework.Success},
		{"other IPs", ft.MakePod("p").HostPort("10.0.0.1", tcp, 80).Obj(), []*corev1.Pod{ft.MakePod("e").HostPort("10.0.0.2", tcp, 80).Obj()}, framework.Success},
		{"wildcard vs IP", ft.MakePod("p").HostPort("", tcp, 80).Obj(), []*corev1.Pod{ft.MakePod("e").HostPort("10.0.0.2", tcp, 80).Obj()}, framework.Unschedulable},
		{"IP vs wildcard", ft.MakePod("p").HostPort("10.0.0.1", tcp, 80).Obj(), []*corev1.Pod{ft.MakePod("e").HostPort("0.0.0.0", tcp, 80).Obj()}, framework.Unschedulable},
		{"sidecar holds its port", ft.MakePod("p").HostPort("", tcp, 8080).Obj(), []*corev1.Pod{sidecar}, framework.Unschedulable},
		{"init container does not", ft.MakePod("p").HostPort("", tcp, 8080).Obj(), []*corev1.Pod{initOnly}, framework.Success},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			state := framework.NewCycleState(nil)
			if p.PreFilter(t.Context(), state, tt.pod).IsSkip() {
				if tt.want != framework.Success {
					t.Fatal("skipped")
				}
				return
			}
			got := p.Filter(t.Context(), state, tt.pod, ft.NodeInfo(ft.MakeNode("n").Obj(), tt.existing...))
			if got.Code() != tt.want {
				t.Errorf("code = %v, want %v", got.Code(), tt.want)
			}
			if tt.want != framework.Success && got.Message() != ErrReason {
				t.Errorf("message = %q", got.Message())
			}
		})
	}
}
