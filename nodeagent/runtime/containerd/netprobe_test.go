package containerd_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// TestNetProbes: httpGet and tcpSocket probes reach a server in the pod,
// whose address only its own network namespace has.
func TestNetProbes(t *testing.T) {
	r, _ := newRuntimeDir(t)
	pod := testPod("web", corev1.Container{
		Name:    "web",
		Command: []string{"sh", "-c", "mkdir -p /tmp/www && echo ok > /tmp/www/ok && exec httpd -f -p 8080 -h /tmp/www"},
		Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
	})
	ids := run(t, r, pod)
	httpGet := func(path string, port intstr.IntOrString) *corev1.Probe {
		return &corev1.Probe{TimeoutSeconds: 2, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port}}}
	}
	tcp := func(port int) *corev1.Probe {
		return &corev1.Probe{TimeoutSeconds: 2, ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(port)}}}
	}
	// The server may need a moment to listen.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, _, _ := r.Probe(t.Context(), pod, ids[0], tcp(8080))
		if res == runtime.ProbeSuccess || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range []struct {
		name  string
		probe *corev1.Probe
		want  runtime.ProbeResult
	}{
		{"http ok", httpGet("/ok", intstr.FromString("http")), runtime.ProbeSuccess},
		{"http 404", httpGet("/missing", intstr.FromInt(8080)), runtime.ProbeFailure},
		{"http closed port", httpGet("/ok", intstr.FromInt(8081)), runtime.ProbeFailure},
		{"tcp open", tcp(8080), runtime.ProbeSuccess},
		{"tcp closed", tcp(8081), runtime.ProbeFailure},
	} {
		if got, msg, err := r.Probe(t.Context(), pod, ids[0], tc.probe); got != tc.want || err != nil {
			t.Errorf("%s: Probe = %v %q %v, want %v", tc.name, got, msg, err, tc.want)
		}
	}
}
