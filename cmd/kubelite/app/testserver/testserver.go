// Package testserver starts a real in-process kubelite server for integration
// tests: embedded etcd in a temporary data dir, the API server on a free port, and
// an admin client. It is the one shared helper every integration test uses.
//
// Pods need their namespace's "default" service account (the ServiceAccount
// admission plugin rejects them until the controller has made it, as
// upstream): Start waits for it in "default", and CreateNamespace in the
// namespaces it creates.
package testserver

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
)

// Server is a running test server.
type Server struct {
	// DataDir is the server's data dir; Restart reuses it.
	DataDir string
	// Config is an admin client config; Client a clientset built on it.
	Config *rest.Config
	Client kubernetes.Interface
	// Kubeconfig is the path of the admin kubeconfig the server wrote.
	Kubeconfig string
	// EtcdEndpoint is the embedded etcd's client URL, for tests that look beneath
	// the API (compaction, stored bytes).
	EtcdEndpoint string

	cfg    app.ServerConfig
	cancel context.CancelFunc
	done   chan error
}

// Start starts a server on a fresh temporary data dir and stops it when the test
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, app.ServerConfig{DataDir: t.TempDir()})
}

// StartWith starts a server with cfg; a zero SecurePort and zero etcd ports pick
// free ones, and BindAddress defaults to loopback.
func StartWith(t testing.TB, cfg app.ServerConfig) *Server {
	t.Helper()
	if cfg.BindAddress == nil {
		cfg.BindAddress = net.ParseIP("127.0.0.1")
	}
	if len(cfg.EtcdServers) == 0 && cfg.EtcdClientPort == 0 {
		// Fixed for the server's life, so that a restart finds etcd's member as it was.
		cfg.EtcdClientPort, cfg.EtcdPeerPort = freePort(t), freePort(t)
	}
	s, err := app.NewServer(cfg)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &Server{DataDir: cfg.DataDir, Kubeconfig: s.KubeconfigPath(), cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	if len(cfg.EtcdServers) == 0 {
		ts.EtcdEndpoint = fmt.Sprintf("http://127.0.0.1:%d", cfg.EtcdClientPort)
	}
	go func() { ts.done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-ts.done:
		cancel()
		t.Fatalf("server stopped before it was ready: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("server not ready after 2 minutes")
	}
	ts.Config = s.RESTConfig()
	ts.Config.QPS, ts.Config.Burst = 1000, 2000
	ts.Client = kubernetes.NewForConfigOrDie(ts.Config)
	t.Cleanup(ts.Stop)
	ts.WaitForServiceAccount(t, metav1.NamespaceDefault)
	return ts
}

// CreateNamespace creates the namespace name and waits until its "default"
// service account and its kube-root-ca.crt ConfigMap exist, as upstream's
// e2e framework does: pods can be created in it, and their API access
// volume made at once.
func (s *Server) CreateNamespace(t testing.TB, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := s.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	s.WaitForServiceAccount(t, name)
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			_, err := s.Client.CoreV1().ConfigMaps(name).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			return err == nil, nil
		})
	if err != nil {
		t.Fatalf("no kube-root-ca.crt ConfigMap in namespace %s: %v", name, err)
	}
}

// WaitForServiceAccount waits up to 30 seconds for the "default" service
// account of namespace ns.
func (s *Server) WaitForServiceAccount(t testing.TB, ns string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			_, err := s.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		})
	if err != nil {
		t.Fatalf("no default service account in namespace %s: %v", ns, err)
	}
}

// Stop stops the server and waits until etcd has closed its files. Safe to call
// more than once.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case <-s.done:
	case <-time.After(time.Minute):
	}
}

// Restart stops the server and starts a new one on the same data dir.
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	s.Stop()
	cfg := s.cfg
	return StartWith(t, cfg)
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Deployment is a Deployment of replicas pods running image, selected by the
// label app=name.
func Deployment(ns, name string, replicas int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
}
