package stream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// Timeouts of streaming sessions, as upstream kubelet's defaults.
const (
	// idleTimeout ends an exec, attach or port-forward session with no
	// traffic (--streaming-connection-idle-timeout).
	idleTimeout = 4 * time.Hour
	// streamCreationTimeout bounds the wait for a session's streams.
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// Finder finds a pod the server serves, and the runtime that runs it.
type Finder interface {
	StreamPod(namespace, name string) (*corev1.Pod, runtime.Runtime, bool)
}

// Config configures a Server.
type Config struct {
	// Listener is where the server accepts connections; the server wraps it
	// in TLS. Required.
	Listener net.Listener
	// Pods finds the pods. Required.
	Pods Finder
	// ClientCA verifies client certificates. Required: a request without a
	// certificate it verifies is refused (401).
	ClientCA *x509.CertPool
	// Client asks the API server SubjectAccessReviews. Nil: every
	// authenticated client may do everything.
	Client kubernetes.Interface
	// NodeName is the node /healthz is authorized against; requests about
	// pods are authorized against the pod's node. Empty: no name.
	NodeName string
	// Certificate is the serving certificate. Nil: a self-signed one for
	// Hosts, made at New (upstream kubelet's default without --tls-cert-file).
	Certificate *tls.Certificate
	// Hosts are the names and addresses of the self-signed certificate.
	Hosts []string
}

// Server is the node agent's HTTPS endpoint. Build it with New, serve with Run.
type Server struct {
	cfg   Config
	authz *authorizer
	srv   *http.Server
}

// New checks cfg and returns a Server ready to Run.
func New(cfg Config) (*Server, error) {
	if cfg.Listener == nil || cfg.Pods == nil || cfg.ClientCA == nil {
		return nil, errors.New("stream server: listener, pods and client CA are required")
	}
	if cfg.Certificate == nil {
		cert, err := selfSigned(cfg.Hosts)
		if err != nil {
			return nil, fmt.Errorf("stream server: serving certificate: %w", err)
		}
		cfg.Certificate = cert
	}
	s := &Server{cfg: cfg, authz: newAuthorizer(cfg.Client)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.logs)
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /exec/{ns}/{pod}/{container}", s.exec)
		mux.HandleFunc(m+" /exec/{ns}/{pod}/{uid}/{container}", s.exec)
		mux.HandleFunc(m+" /attach/{ns}/{pod}/{container}", s.attach)
		mux.HandleFunc(m+" /attach/{ns}/{pod}/{uid}/{container}", s.attach)
		mux.HandleFunc(m+" /portForward/{ns}/{pod}", s.portForward)
		mux.HandleFunc(m+" /portForward/{ns}/{pod}/{uid}", s.portForward)
	}
	s.srv = &http.Server{
		Handler: s.authenticate(mux),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{*cfg.Certificate},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    cfg.ClientCA,
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"}, // upgrades need HTTP/1.1
		},
		ReadHeaderTimeout: 30 * time.Second,
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.cfg.Listener.Addr() }

// Run serves until ctx ends, then closes the listener and every connection.
func (s *Server) Run(ctx context.Context) error {
	s.srv.BaseContext = func(net.Listener) context.Context { return ctx }
	go func() {
		<-ctx.Done()
		_ = s.srv.Close()
	}()
	err := s.srv.ServeTLS(s.cfg.Listener, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// target is the pod a request names, with its runtime.
type target struct {
	pod *corev1.Pod
	rt  runtime.Runtime
}

// find authorizes the request against the node of the pod it names (or
// the server's NodeName), then looks the pod up, answering 404 if it is not
// served here or its UID is not the one the path names.
func (s *Server) find(w http.ResponseWriter, req *http.Request) (*target, bool) {
	ns, name := req.PathValue("ns"), req.PathValue("pod")
	pod, rt, ok := s.cfg.Pods.StreamPod(ns, name)
	node := s.cfg.NodeName
	if ok {
		node = pod.Spec.NodeName
	}
	if !s.authorized(w, req, node) {
		return nil, false
	}
	if ok && req.PathValue("uid") != "" && types.UID(req.PathValue("uid")) != pod.UID {
		ok = false
	}
	if !ok {
		http.Error(w, fmt.Sprintf("pod %s/%s not found", ns, name), http.StatusNotFound)
		return nil, false
	}
	return &target{pod: pod, rt: rt}, true
}

// containerID returns the runtime's ID of container name's current attempt,
// or with previous of the attempt before, answering 400 with upstream
// kubelet's messages when there is none.
func (t *target) containerID(ctx context.Context, w http.ResponseWriter, name string, previous bool) (string, bool) {
	pod := t.pod
	if !hasContainer(pod, name) {
		http.Error(w, fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name), http.StatusBadRequest)
		return "", false
	}
	st, err := t.rt.PodStatus(ctx, pod.UID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return "", false
	}
	var attempts []runtime.Container
	if st != nil {
		for _, c := range st.Containers {
			if c.Name == name {
				attempts = append(attempts, c)
			}
		}
	}
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].Attempt > attempts[j].Attempt })
	switch {
	case previous && len(attempts) < 2:
		http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", name, pod.Name), http.StatusBadRequest)
		return "", false
	case previous:
		return attempts[1].ID, true
	case len(attempts) == 0 || attempts[0].State == runtime.StateCreated:
		http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start: %s", name, pod.Name, waitingReason(pod, name)), http.StatusBadRequest)
		return "", false
	}
	return attempts[0].ID, true
}

// waitingReason is the reason the pod's status gives for container name
// waiting, or ContainerCreating.
func waitingReason(pod *corev1.Pod, name string) string {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range list {
			if cs.Name == name && cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
				return cs.State.Waiting.Reason
			}
		}
	}
	return "ContainerCreating"
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if c.Name == name {
				return true
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// logs serves /containerLogs: the log of one container, as upstream's
// kubelet, with its query parameters.
func (s *Server) logs(w http.ResponseWriter, req *http.Request) {
	t, ok := s.find(w, req)
	if !ok {
		return
	}
	q := req.URL.Query()
	opts := runtime.LogOptions{
		Follow:     q.Get("follow") == "true",
		Timestamps: q.Get("timestamps") == "true",
		TailLines:  -1,
		Stream:     q.Get("stream"),
	}
	var limit int64 = -1
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"tailLines", &opts.TailLines}, {"limitBytes", &limit}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				http.Error(w, fmt.Sprintf("%s: %q is not a number of 0 or more", p.name, v), http.StatusBadRequest)
				return
			}
			*p.dst = n
		}
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			http.Error(w, fmt.Sprintf("sinceSeconds: %q is not a positive number", v), http.StatusBadRequest)
			return
		}
		opts.Since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		tm, err := time.Parse(time.RFC3339, v)
		if err != nil {
			http.Error(w, fmt.Sprintf("sinceTime: %v", err), http.StatusBadRequest)
			return
		}
		opts.Since = tm
	}
	id, ok := t.containerID(req.Context(), w, req.PathValue("container"), q.Get("previous") == "true")
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	out := io.Writer(&flushWriter{w: w, follow: opts.Follow})
	if limit >= 0 {
		out = &limitWriter{w: out, left: limit}
	}
	if err := t.rt.Logs(req.Context(), id, opts, out); err != nil && !errors.Is(err, errLimit) {
		klog.FromContext(req.Context()).V(2).Info("Container log ended", "pod", klog.KObj(t.pod), "container", req.PathValue("container"), "err", err)
	}
}

// flushWriter flushes each write of a followed log to the client.
type flushWriter struct {
	w      http.ResponseWriter
	follow bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if f.follow {
		if fl, ok := f.w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	return n, err
}

// errLimit ends a log at its limitBytes.
var errLimit = errors.New("log limit reached")

type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errLimit
	}
	cut := p[:min(int64(len(p)), l.left)]
	n, err := l.w.Write(cut)
	l.left -= int64(n)
	if err == nil && len(cut) < len(p) {
		err = errLimit
	}
	return n, err
}

// exec serves /exec through the runtime's Exec.
func (s *Server) exec(w http.ResponseWriter, req *http.Request) {
	s.remoteCommand(w, req, true)
}

// attach serves /attach through the runtime's Attach.
func (s *Server) attach(w http.ResponseWriter, req *http.Request) {
	s.remoteCommand(w, req, false)
}

func (s *Server) remoteCommand(w http.ResponseWriter, req *http.Request, exec bool) {
	t, ok := s.find(w, req)
	if !ok {
		return
	}
	opts, err := remotecommand.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := req.PathValue("container")
	id, ok := t.containerID(req.Context(), w, name, false)
	if !ok {
		return
	}
	session := sessionFunc(func(ctx context.Context, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
		streams := runtime.Streams{Stdin: in, Stdout: out, Stderr: errw, TTY: tty, Resize: sizes(ctx, resize)}
		if exec {
			return t.rt.Exec(ctx, id, cmd, streams)
		}
		return t.rt.Attach(ctx, id, streams)
	})
	podName, uid := t.pod.Namespace+"/"+t.pod.Name, string(t.pod.UID)
	if exec {
		remotecommand.ServeExec(w, req, session, podName, uid, name, req.URL.Query()["command"], opts,
			idleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
		return
	}
	remotecommand.ServeAttach(w, req, session, podName, uid, name, opts,
		idleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// sessionFunc is both a remotecommand.Executor and a remotecommand.Attacher.
type sessionFunc func(ctx context.Context, cmd []string, in io.Reader, out, err io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error

func (f sessionFunc) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, err io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	return f(ctx, cmd, in, out, err, tty, resize)
}

func (f sessionFunc) AttachContainer(ctx context.Context, _, _, _ string, in io.Reader, out, err io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return f(ctx, nil, in, out, err, tty, resize)
}

// sizes converts the terminal sizes of the protocol to the runtime's.
func sizes(ctx context.Context, in <-chan remotecommand.TerminalSize) <-chan runtime.TerminalSize {
	if in == nil {
		return nil
	}
	out := make(chan runtime.TerminalSize)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case sz, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- runtime.TerminalSize{Width: sz.Width, Height: sz.Height}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// portForward serves /portForward through the runtime's PortForward.
func (s *Server) portForward(w http.ResponseWriter, req *http.Request) {
	t, ok := s.find(w, req)
	if !ok {
		return
	}
	opts, err := portforward.NewV4Options(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fwd := forwardFunc(func(ctx context.Context, port int32, stream io.ReadWriteCloser) error {
		return t.rt.PortForward(ctx, t.pod.UID, port, stream)
	})
	portforward.ServePortForward(w, req, fwd, t.pod.Namespace+"/"+t.pod.Name, string(t.pod.UID), opts,
		idleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
}

// forwardFunc is a portforward.PortForwarder.
type forwardFunc func(ctx context.Context, port int32, stream io.ReadWriteCloser) error

func (f forwardFunc) PortForward(ctx context.Context, _, _ string, port int32, stream io.ReadWriteCloser) error {
	return f(ctx, port, stream)
}

// hostsOf returns the names in hosts that are not addresses, and the addresses.
func hostsOf(hosts []string) (names []string, ips []net.IP) {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" {
			names = append(names, strings.ToLower(h))
		}
	}
	return names, ips
}
