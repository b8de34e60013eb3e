package simulated

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/runtime/suite"
)

// TestSuite runs the conformance suite with the default stages and the real
// clock: the suite's default containers ("sleep 3600", "sh -c 'sleep 0.1;
// exit 3'") are among the commands the default stages recognise. Logs come
// from the log annotation; every pod echoes on every port.
func TestSuite(t *testing.T) {
	suite.Run(t, func(t *testing.T) runtime.Runtime {
		r, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}, suite.Options{
		Logging: func(pod *corev1.Pod, name string, lines []string) corev1.Container {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[LogAnnotationPrefix+name] = strings.Join(lines, "\n")
			return corev1.Container{Name: name, Image: "busybox", Command: []string{"sleep", "3600"}}
		},
		ReadinessProbe: func(pod *corev1.Pod, c *corev1.Container, succeed bool) {
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				TCPSocket: &corev1.TCPSocketAction{},
			}}
			if !succeed {
				if pod.Annotations == nil {
					pod.Annotations = map[string]string{}
				}
				pod.Annotations[AnnotationPrefix+c.Name] = "readiness=Failure"
			}
		},
	})
}
