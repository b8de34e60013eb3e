package containerd_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
)

// TestServerLocalNodeStreaming: through the API server to the local node
// agent and a real container, `kubectl logs` reads what the container
// wrote, `kubectl exec` runs a command in it (WebSocket with stdin; SPDY
// with a terminal) and
// `kubectl port-forward` reaches a server listening in the pod.
func TestServerLocalNodeStreaming(t *testing.T) {
	if daemon == nil {
		t.Skip(skipReason)
	}
	s, _ := startLocalNodeServer(t, "kl-str-")
	s.CreateNamespace(t, "ctd")
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods("ctd")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "streams"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "main", Image: testImage, Command: []string{"sh", "-c", `trap "exit 0" TERM; echo hello from $(hostname); sleep 3600 & wait`}},
			{Name: "echo", Image: testImage, Command: []string{"nc", "-ll", "-p", "8080", "-e", "cat"}},
			// Reads its stdin, which attach sessions write (stdinOnce: the
			// first session's end closes it, and it exits).
			{Name: "stdin", Image: testImage, Command: []string{"sh", "-c", `while read l; do echo "got $l"; done; echo stdin closed; sleep 3600`}, Stdin: true, StdinOnce: true},
		}},
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer pods.Delete(ctx, "streams", metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	waitFor(t, s, "streams", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })

	var got []byte
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got, err = pods.GetLogs("streams", &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx); err == nil && string(got) == "hello from streams\n" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if string(got) != "hello from streams\n" {
		t.Errorf("logs = %q, %v; want the container's greeting", got, err)
	}

	u := s.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace("ctd").Name("streams").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "main", Command: []string{"sh", "-c", "cat; hostname"}, Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
	ex, err := remotecommand.NewWebSocketExecutor(s.Config, http.MethodGet, u.String())
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = ex.StreamWithContext(ectx, remotecommand.StreamOptions{Stdin: strings.NewReader("in\n"), Stdout: &out, Stderr: &errOut})
	if err != nil || out.String() != "in\nstreams\n" {
		t.Errorf("exec = %q (stderr %q), %v; want stdin back and the pod's hostname", out.String(), errOut.String(), err)
	}

	// With a terminal, as kubectl exec -t.
	u = s.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace("ctd").Name("streams").SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "main", Command: []string{"tty"}, Stdout: true, TTY: true}, scheme.ParameterCodec).URL()
	if ex, err = remotecommand.NewSPDYExecutor(s.Config, http.MethodPost, u); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := ex.StreamWithContext(ectx, remotecommand.StreamOptions{Stdout: &out, Tty: true}); err != nil || !strings.HasPrefix(out.String(), "/dev/pts/") {
		t.Errorf("exec -t tty = %q, %v; want a terminal", out.String(), err)
	}

	// kubectl attach -i: the session's stdin reaches the process, its
	// output comes back; its end closes the stdin (stdinOnce).
	u = s.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace("ctd").Name("streams").SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{Container: "stdin", Stdin: true, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
	if ex, err = remotecommand.NewWebSocketExecutor(s.Config, http.MethodGet, u.String()); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	defer acancel()
	inR, inW := io.Pipe()
	go func() {
		_, _ = inW.Write([]byte("one\ntwo\n"))
		// The end of stdin once both lines are back; the session's once
		// the process says its stdin closed.
		for actx.Err() == nil {
			got := syncString(&out)
			if strings.Contains(got, "got two") {
				inW.Close()
			}
			if strings.Contains(got, "stdin closed") {
				acancel()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_ = ex.StreamWithContext(actx, remotecommand.StreamOptions{Stdin: inR, Stdout: &lockedBuffer{b: &out}, Stderr: io.Discard})
	if got := syncString(&out); !strings.Contains(got, "got one\ngot two\nstdin closed\n") {
		t.Errorf("attach -i output = %q; want each stdin line back, then stdin closed", got)
	}

	pu := s.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace("ctd").Name("streams").SubResource("portforward").URL()
	rt, upgrader, err := spdy.RoundTripperFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	stop, ready := make(chan struct{}), make(chan struct{})
	defer close(stop)
	fw, err := portforward.NewOnAddresses(spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, pu),
		[]string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = fw.ForwardPorts() }()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("port-forward never ready")
	}
	ports, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	var echoed string
	for time.Now().Before(deadline.Add(30 * time.Second)) {
		echoed = echo(ports[0].Local)
		if echoed == "ping\n" {
			break
		}
		time.Sleep(200 * time.Millisecond) // nc may not listen yet
	}
	if echoed != "ping\n" {
		t.Errorf("port-forwarded echo = %q, want ping", echoed)
	}
}

// echo sends a line to 127.0.0.1:port and returns what comes back.
func echo(port uint16) string {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err.Error()
	}
	buf := make([]byte, 5)
	n, _ := io.ReadFull(c, buf)
	return string(buf[:n])
}

// outMu guards the buffers lockedBuffer writes, for syncString.
var outMu sync.Mutex

// lockedBuffer is a bytes.Buffer written by a stream while the test reads
// it.
type lockedBuffer struct{ b *bytes.Buffer }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	outMu.Lock()
	defer outMu.Unlock()
	return l.b.Write(p)
}

func syncString(b *bytes.Buffer) string {
	outMu.Lock()
	defer outMu.Unlock()
	return b.String()
}
