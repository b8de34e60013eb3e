package containerd

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// netProbe runs an httpGet or tcpSocket probe against the pod's address
// from inside its network namespace (the pod has no address the host
// reaches until the pod network gives it one).
func (r *Runtime) netProbe(ctx context.Context, pod *corev1.Pod, id string, probe *corev1.Probe) (runtime.ProbeResult, string, error) {
	name, ip, nsPath, ok := r.runningNetwork(pod, id)
	if !ok {
		return runtime.ProbeUnknown, "container is not running", nil
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialIn(ctx, nsPath, network, addr)
	}
	spec := specContainer(pod, name)
	if t := probe.TCPSocket; t != nil {
		port, err := probePort(t.Port, spec)
		if err != nil {
			return runtime.ProbeUnknown, "", err
		}
		host := t.Host
		if host == "" {
			host = ip
		}
		c, err := dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return runtime.ProbeFailure, err.Error(), nil
		}
		c.Close()
		return runtime.ProbeSuccess, "", nil
	}
	g := probe.HTTPGet
	port, err := probePort(g.Port, spec)
	if err != nil {
		return runtime.ProbeUnknown, "", err
	}
	host := g.Host
	if host == "" {
		host = ip
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	if pu, err := url.Parse(path); err == nil {
		u.Path, u.RawQuery = pu.Path, pu.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return runtime.ProbeUnknown, "", err
	}
	req.Header.Set("User-Agent", "kube-probe/1.37")
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
		} else {
			req.Header.Add(h.Name, h.Value)
		}
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:       dial,
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // as upstream's prober
	}}
	resp, err := client.Do(req)
	if err != nil {
		return runtime.ProbeFailure, err.Error(), nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProbeOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return runtime.ProbeSuccess, string(body), nil
	}
	return runtime.ProbeFailure, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), nil
}

// dialIn dials from inside the network namespace at nsPath ("" for the
// host's). It works on a thread of its own that it never hands back: the
// thread ends with its goroutine, so no other goroutine runs in that
// namespace; the connection keeps the namespace it was made in.
func dialIn(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if nsPath == "" {
		return d.DialContext(ctx, network, addr)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: see above
		f, err := os.Open(nsPath)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("enter the pod's network namespace: %w", err)}
			return
		}
		c, err := d.DialContext(ctx, network, addr)
		ch <- result{c, err}
	}()
	res := <-ch
	return res.c, res.err
}

// specContainer is the spec of container name in pod, or nil.
func specContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// probePort resolves a probe's port: a number, or the name of one of c's
// ports.
func probePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		if port.IntVal <= 0 || port.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port %d", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	if c != nil {
		for _, p := range c.Ports {
			if p.Name == port.StrVal {
				return int(p.ContainerPort), nil
			}
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	return 0, fmt.Errorf("no port named %q", port.StrVal)
}

// runningNetwork returns, for container id while it runs in its ready
// sandbox, the container's name, the pod's first address and the path of
// the pod's network namespace ("" for a host-network pod); ok is false
// otherwise.
func (r *Runtime) runningNetwork(pod *corev1.Pod, id string) (name, ip, nsPath string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ct := r.containers[id]
	if ct == nil || ct.State != runtime.StateRunning {
		return "", "", "", false
	}
	for _, s := range ct.pod.sandboxes {
		if s.ID != ct.sandboxID || !s.Ready {
			continue
		}
		if !s.hostNetwork {
			nsPath = filepath.Join(r.podDir(pod.UID), s.ID, "ns", "net")
		}
		return ct.Name, s.IPs[0], nsPath, true
	}
	return "", "", "", false
}
