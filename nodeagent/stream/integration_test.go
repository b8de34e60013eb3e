package stream_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/utils/exec"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

const node = "kubelite-sim-0000"

// TestStreaming drives pods/log, pods/exec, pods/portforward and
// nodes/proxy of a pod on a simulated node as kubectl does: client-go's
// log requests, SPDY and WebSocket executors and port forwarder.
func TestStreaming(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Simulated: app.SimulatedNodesConfig{Count: 1}})
	c := s.Client
	ns := "stream"
	s.CreateNamespace(t, ns)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "two", Namespace: ns, Annotations: map[string]string{
			simulated.LogAnnotationPrefix + "a": "hello\nworld",
			simulated.AnnotationPrefix + "b":    "exit=1,after=2s",
		}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{
			{Name: "a", Image: "busybox"}, {Name: "b", Image: "busybox"},
		}},
	}
	create(t, c, pod)
	waitRunning(t, c, ns, "two")

	t.Run("log errors", func(t *testing.T) {
		for _, tc := range []struct {
			opts    corev1.PodLogOptions
			code    int32
			message string
		}{
			{corev1.PodLogOptions{}, http.StatusBadRequest, "a container name must be specified for pod two, choose one of: [a b]"},
			{corev1.PodLogOptions{Container: "x"}, http.StatusBadRequest, "container x is not valid for pod two"},
			{corev1.PodLogOptions{Container: "a", TailLines: ptr.To[int64](-1)}, http.StatusUnprocessableEntity, "tailLines"},
			{corev1.PodLogOptions{Container: "a", SinceSeconds: ptr.To[int64](1), SinceTime: &metav1.Time{Time: time.Now()}}, http.StatusUnprocessableEntity, "at most one of"},
			{corev1.PodLogOptions{Container: "a", Previous: true}, http.StatusBadRequest, `previous terminated container "a" in pod "two" not found`},
		} {
			err := logError(c, ns, "two", tc.opts)
			var status apierrors.APIStatus
			if !errors.As(err, &status) || status.Status().Code != tc.code || !strings.Contains(status.Status().Message, tc.message) {
				t.Errorf("logs %+v: error %v, want %d with %q", tc.opts, err, tc.code, tc.message)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		if got := logs(t, c, ns, "two", corev1.PodLogOptions{Container: "a"}); got != "hello\nworld\n" {
			t.Errorf("logs = %q, want the annotation's lines", got)
		}
		if got := logs(t, c, ns, "two", corev1.PodLogOptions{Container: "a", TailLines: ptr.To[int64](1)}); got != "world\n" {
			t.Errorf("logs --tail=1 = %q, want the last line", got)
		}
		if got := logs(t, c, ns, "two", corev1.PodLogOptions{Container: "a", LimitBytes: ptr.To[int64](3)}); got != "hel" {
			t.Errorf("logs --limit-bytes=3 = %q, want hel", got)
		}
		got := logs(t, c, ns, "two", corev1.PodLogOptions{Container: "a", Timestamps: true})
		for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			ts, rest, _ := strings.Cut(line, " ")
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || (rest != "hello" && rest != "world") {
				t.Errorf("logs --timestamps line %q: want an RFC 3339 time, then the line", line)
			}
		}
	})

	t.Run("follow and previous", func(t *testing.T) {
		// b exits 2s after it started: a followed log ends with that exit.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rc, err := c.CoreV1().Pods(ns).GetLogs("two", &corev1.PodLogOptions{Container: "b", Follow: true}).Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		body, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read followed log: %v", err)
		}
		want := "simulated container b exited with code 1 (Error)\n"
		if !strings.HasSuffix(string(body), want) || !strings.Contains(string(body), "started (attempt ") {
			t.Fatalf("followed log = %q, want its start line and %q at the end", body, want)
		}
		// Once restarted, the exited attempt is the previous one.
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := c.CoreV1().Pods(ns).GetLogs("two", &corev1.PodLogOptions{Container: "b", Previous: true}).DoRaw(ctx)
			return err == nil && strings.Contains(string(got), "started (attempt 0)") && strings.HasSuffix(string(got), want), nil
		}); err != nil {
			t.Errorf("logs --previous of b never showed attempt 0 and its exit: %v", err)
		}
	})

	t.Run("bad parameter", func(t *testing.T) {
		rc, err := c.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name("two").SubResource("log").
			Param("container", "a").Param("tailLines", "many").Stream(context.Background())
		if err == nil {
			rc.Close()
		}
		if !apierrors.IsBadRequest(err) {
			t.Errorf("logs with tailLines=many: %v, want 400", err)
		}
	})

	t.Run("attach ends with the container", func(t *testing.T) {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "short", Namespace: ns, Annotations: map[string]string{simulated.AnnotationPrefix + "c": "exit=0,after=2s"}},
			Spec:       corev1.PodSpec{NodeName: node, RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		create(t, c, p)
		waitRunning(t, c, ns, "short")
		req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name("short").SubResource("attach").
			VersionedParams(&corev1.PodAttachOptions{Container: "c", Stdout: true, Stderr: true}, scheme.ParameterCodec)
		exec, err := remotecommand.NewSPDYExecutor(s.Config, http.MethodPost, req.URL())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard}); err != nil || ctx.Err() != nil {
			t.Errorf("attach: %v (after %v), want its end when the container exits", err, time.Since(start))
		}
	})

	t.Run("waiting to start", func(t *testing.T) {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "slow", Namespace: ns, Annotations: map[string]string{simulated.AnnotationPrefix + "c": "start=1h"}},
			Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		create(t, c, p)
		if err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			err := logError(c, ns, "slow", corev1.PodLogOptions{})
			return apierrors.IsBadRequest(err) && strings.Contains(err.Error(), `container "c" in pod "slow" is waiting to start: ContainerCreating`), nil
		}); err != nil {
			t.Errorf("logs of a container not started: want 400 waiting to start: %v", err)
		}
	})

	for _, proto := range []string{"spdy", "websocket"} {
		t.Run("exec "+proto, func(t *testing.T) {
			out, errOut, err := execIn(t, s.Config, proto, ns, "two", "a", []string{"echo", "hi", "there"}, "")
			if err != nil || out != "hi there\n" || errOut != "" {
				t.Errorf("exec echo: out %q err %q, %v; want %q", out, errOut, err, "hi there\n")
			}
			out, _, err = execIn(t, s.Config, proto, ns, "two", "a", []string{"cat"}, "from stdin")
			if err != nil || out != "from stdin" {
				t.Errorf("exec cat: out %q, %v; want stdin back", out, err)
			}
			_, _, err = execIn(t, s.Config, proto, ns, "two", "a", []string{"sh", "-c", "exit 3"}, "")
			var exit utilexec.ExitError
			if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
				t.Errorf("exec sh -c 'exit 3': %v, want exit code 3", err)
			}
			_, errOut, err = execIn(t, s.Config, proto, ns, "two", "a", []string{"nosuch"}, "")
			if !errors.As(err, &exit) || exit.ExitStatus() != 127 || !strings.Contains(errOut, "not found") {
				t.Errorf("exec nosuch: stderr %q, %v; want exit code 127 and a message", errOut, err)
			}
		})
	}

	for _, proto := range []string{"spdy", "websocket"} {
		t.Run("port-forward "+proto, func(t *testing.T) {
			u := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name("two").SubResource("portforward").URL()
			var dialer httpstream.Dialer
			if proto == "spdy" {
				rt, upgrader, err := spdy.RoundTripperFor(s.Config)
				if err != nil {
					t.Fatal(err)
				}
				dialer = spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
			} else {
				// kubectl 1.31 and later: SPDY tunnelled in a WebSocket.
				var err error
				if dialer, err = portforward.NewSPDYOverWebsocketDialer(u, s.Config); err != nil {
					t.Fatal(err)
				}
			}
			stop, ready := make(chan struct{}), make(chan struct{})
			defer close(stop)
			fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- fw.ForwardPorts() }()
			select {
			case <-ready:
			case err := <-errc:
				t.Fatalf("port-forward: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("port-forward never ready")
			}
			ports, err := fw.GetPorts()
			if err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local))))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// The simulated pod echoes what it gets.
			if _, err := conn.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
				t.Errorf("port-forwarded echo = %q, %v; want ping", buf, err)
			}
		})
	}

	t.Run("pod and service proxy", func(t *testing.T) {
		// A pod of no node, whose status names the address of a server
		// of the test's: pods/proxy passes requests to it.
		ip := hostIP(t)
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Skipf("listen on %s: %v", ip, err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
		})}
		go srv.Serve(l)
		defer srv.Close()
		port := l.Addr().(*net.TCPAddr).Port
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
			Spec: corev1.PodSpec{NodeName: "no-such-node", Containers: []corev1.Container{
				{Name: "web", Image: "nginx", Ports: []corev1.ContainerPort{{ContainerPort: int32(port)}}},
			}},
		}
		create(t, c, p)
		rc := c.CoreV1().RESTClient()
		if _, err := rc.Get().Namespace(ns).Resource("pods").Name("web").SubResource("proxy").DoRaw(context.Background()); !apierrors.IsBadRequest(err) {
			t.Errorf("pods/proxy of a pod with no address: %v, want 400", err)
		}
		p, err = c.CoreV1().Pods(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := rc.Post().Namespace(ns).Resource("pods").Name("web").SubResource("proxy", "some", "path").Param("q", "1").DoRaw(context.Background())
		if want := "POST /some/path?q=1"; err != nil || string(got) != want {
			t.Errorf("pods/proxy = %q, %v; want %q", got, err, want)
		}
		got, err = rc.Get().Namespace(ns).Resource("pods").Name("http:web:" + strconv.Itoa(port)).SubResource("proxy").DoRaw(context.Background())
		if want := "GET /?"; err != nil || string(got) != want {
			t.Errorf("pods/proxy with scheme and port = %q, %v; want %q", got, err, want)
		}

		// services/proxy goes to a ready endpoint of the service's port.
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		}
		if _, err := c.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Get().Namespace(ns).Resource("services").Name("web:http").SubResource("proxy").DoRaw(context.Background()); !apierrors.IsServiceUnavailable(err) {
			t.Errorf("services/proxy with no endpoints: %v, want 503", err)
		}
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(port))}},
		}
		if _, err := c.DiscoveryV1().EndpointSlices(ns).Create(context.Background(), slice, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err = rc.Get().Namespace(ns).Resource("services").Name("web:http").SubResource("proxy", "svc").DoRaw(context.Background())
		if want := "GET /svc?"; err != nil || string(got) != want {
			t.Errorf("services/proxy = %q, %v; want %q", got, err, want)
		}
	})

	t.Run("node proxy and endpoint authentication", func(t *testing.T) {
		got, err := c.CoreV1().RESTClient().Get().Resource("nodes").Name(node).SubResource("proxy", "healthz").DoRaw(context.Background())
		if err != nil || string(got) != "ok" {
			t.Errorf("nodes/proxy/healthz = %q, %v; want ok", got, err)
		}
		n, err := c.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Without a client certificate, the node's endpoint refuses.
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
		resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/containerLogs/%s/two/a", port, ns))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("endpoint without a client certificate: %d, want 401", resp.StatusCode)
		}
		// With a certificate of the cluster CA for a user the API server
		// does not authorize, the endpoint forbids.
		hc.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{clientCert(t, s.DataDir, "nobody")}
		resp, err = hc.Get(fmt.Sprintf("https://127.0.0.1:%d/containerLogs/%s/two/a", port, ns))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "user=nobody") {
			t.Errorf("endpoint with an unauthorized user: %d %q, want 403", resp.StatusCode, body)
		}
	})
}

// clientCert issues a client certificate for user, signed by the CA of the
// server whose data dir is dir.
func clientCert(t *testing.T, dir, user string) tls.Certificate {
	t.Helper()
	ca, err := tls.LoadX509KeyPair(filepath.Join(dir, "pki", "ca.crt"), filepath.Join(dir, "pki", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: user},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), ca.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// hostIP returns a global unicast address of this host, or skips the test.
func hostIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String()
		}
	}
	t.Skip("no global unicast IPv4 address")
	return ""
}

func create(t testing.TB, c kubernetes.Interface, pod *corev1.Pod) {
	t.Helper()
	if _, err := c.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitRunning(t testing.TB, c kubernetes.Interface, ns, name string) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	}); err != nil {
		t.Fatalf("pod %s/%s never ran: %v", ns, name, err)
	}
}

func logs(t testing.TB, c kubernetes.Interface, ns, name string, opts corev1.PodLogOptions) string {
	t.Helper()
	b, err := c.CoreV1().Pods(ns).GetLogs(name, &opts).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("logs %+v: %v", opts, err)
	}
	return string(b)
}

// logError asks for a log as kubectl does (a stream) and returns the error.
func logError(c kubernetes.Interface, ns, name string, opts corev1.PodLogOptions) error {
	rc, err := c.CoreV1().Pods(ns).GetLogs(name, &opts).Stream(context.Background())
	if err == nil {
		rc.Close()
	}
	return err
}

// execIn runs cmd in the container over proto ("spdy" or "websocket"),
// with stdin if not empty, and returns its stdout and stderr.
func execIn(t testing.TB, cfg *rest.Config, proto, ns, pod, container string, cmd []string, stdin string) (string, string, error) {
	t.Helper()
	c := kubernetes.NewForConfigOrDie(cfg)
	req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdin: stdin != "", Stdout: true, Stderr: true}, scheme.ParameterCodec)
	var exec remotecommand.Executor
	var err error
	if proto == "spdy" {
		exec, err = remotecommand.NewSPDYExecutor(cfg, http.MethodPost, req.URL())
	} else {
		exec, err = remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, req.URL().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	opts := remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut}
	if stdin != "" {
		opts.Stdin = strings.NewReader(stdin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = exec.StreamWithContext(ctx, opts)
	return out.String(), errOut.String(), err
}
