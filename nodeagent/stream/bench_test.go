package stream_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// BenchmarkStream measures one request of each kind through the API server
// to a simulated node's endpoint: a log, and an exec of echo over SPDY and
// over WebSocket (connection, upgrade and session included).
func BenchmarkStream(b *testing.B) {
	s := testserver.StartWith(b, app.ServerConfig{DataDir: b.TempDir(), Simulated: app.SimulatedNodesConfig{Count: 1}})
	s.CreateNamespace(b, "bench")
	create(b, s.Client, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "bench", Annotations: map[string]string{simulated.LogAnnotationPrefix + "c": "a line"}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	})
	waitRunning(b, s.Client, "bench", "p")
	b.Run("logs", func(b *testing.B) {
		for b.Loop() {
			if got := logs(b, s.Client, "bench", "p", corev1.PodLogOptions{}); got != "a line\n" {
				b.Fatalf("logs = %q", got)
			}
		}
	})
	for _, proto := range []string{"spdy", "websocket"} {
		b.Run("exec-"+proto, func(b *testing.B) {
			for b.Loop() {
				if out, _, err := execIn(b, s.Config, proto, "bench", "p", "c", []string{"echo", "x"}, ""); err != nil || out != "x\n" {
					b.Fatalf("exec = %q, %v", out, err)
				}
			}
		})
	}
}
