package app_test

import (
	"context"
	"maps"
	"net"
	"path/filepath"
	slices2 "slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/storage"
)

// TestExternalEtcd runs the server on an etcd it did not start (--etcd-servers),
// and a second server on the same etcd sees the first one's objects.
func TestExternalEtcd(t *testing.T) {
	ctx := context.Background()
	etcd, err := storage.Start(ctx, storage.Config{DataDir: filepath.Join(t.TempDir(), "etcd")})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()

	a := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), EtcdServers: etcd.Endpoints()})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Data: map[string]string{"from": "a"}}
	if _, err := a.Client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a.Stop()

	b := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), EtcdServers: etcd.Endpoints()})
	got, err := b.Client.CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{})
	if err != nil || got.Data["from"] != "a" {
		t.Fatalf("second server on the same etcd: %v, %v", got, err)
	}
}

// TestServerConfigValidate rejects bad ranges before anything starts.
func TestServerConfigValidate(t *testing.T) {
	for name, cfg := range map[string]app.ServerConfig{
		"bad service CIDR":                    {ServiceClusterIPRange: "10.96.0.0/33"},
		"bad node ports":                      {ServiceNodePortRange: "32767-30000"},
		"bad port":                            {SecurePort: 70000},
		"unknown disable":                     {Disable: []string{"scheduler", "kubelet"}},
		"unknown network policy mode":         {LocalNode: "containerd", NetworkPolicy: "iptables"},
		"network policy without a local node": {NetworkPolicy: "nftables"},
		"unknown proxy mode":                  {LocalNode: "containerd", Proxy: "ipvs"},
		"proxy without a local node":          {Proxy: "nftables"},
		"bad cluster DNS address":             {ClusterDNS: "10.96.0.300"},
		"join without a token":                {JoinServer: "https://10.0.0.1:6443"},
		"join over http":                      {JoinServer: "http://10.0.0.1:6443", Token: "abcdef.0123456789abcdef"},
		"join with a bad token":               {JoinServer: "https://10.0.0.1:6443", Token: "nope"},
		"cluster-init and join":               {ClusterInit: true, JoinServer: "https://10.0.0.1:6443", Token: "abcdef.0123456789abcdef"},
		"cluster-init on external etcd":       {ClusterInit: true, EtcdServers: []string{"https://10.0.0.1:2379"}},
		"etcd TLS without --etcd-servers":     {EtcdTLS: storage.TLSFiles{CAFile: "ca.crt"}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := cfg.Validate(); err == nil {
				t.Error("want an error")
			}
			if _, err := app.NewServer(cfg); err == nil {
				t.Error("NewServer accepted it")
			}
		})
	}
}

// TestKubernetesServiceEndpoints: with a routable advertise address, the
// kubernetes Service has Endpoints and an EndpointSlice naming it and the
// secure port, and a restart on the same data leaves them as they were.
func TestKubernetesServiceEndpoints(t *testing.T) {
	ctx := t.Context()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port // fixed, so that a restart keeps the endpoints' port
	l.Close()
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), SecurePort: port, AdvertiseAddress: net.ParseIP("192.0.2.10")})
	check := func(s *testserver.Server) (epRV, sliceRV string) {
		t.Helper()
		ep, err := s.Client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil || len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != "192.0.2.10" {
			t.Fatalf("kubernetes endpoints = %+v, %v", ep, err)
		}
		if p := ep.Subsets[0].Ports[0].Port; p != int32(port) {
			t.Fatalf("kubernetes endpoints port = %d, want %d", p, port)
		}
		slices, err := s.Client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=kubernetes"})
		if err != nil || len(slices.Items) != 1 {
			t.Fatalf("kubernetes endpoint slices = %+v, %v", slices, err)
		}
		sl := slices.Items[0]
		if sl.AddressType != discoveryv1.AddressTypeIPv4 || len(sl.Endpoints) != 1 || !slices2.Equal(sl.Endpoints[0].Addresses, []string{"192.0.2.10"}) ||
			len(sl.Ports) != 1 || sl.Ports[0].Port == nil || *sl.Ports[0].Port != int32(port) {
			t.Fatalf("kubernetes endpoint slice = %+v; want 192.0.2.10 port %d", sl, port)
		}
		return ep.ResourceVersion, sl.ResourceVersion
	}
	ep1, sl1 := check(s)
	s = s.Restart(t)
	if ep2, sl2 := check(s); ep1 != ep2 || sl1 != sl2 {
		t.Errorf("restart rewrote unchanged objects: endpoints rv %s -> %s, slice rv %s -> %s", ep1, ep2, sl1, sl2)
	}
}

// TestLeaderElection: two servers on one etcd run one scheduler and one set
// of controllers between them, those of whoever holds each Lease; when that
// server stops, the other takes both Leases over and its controllers act.
func TestLeaderElection(t *testing.T) {
	ctx := t.Context()
	etcd, err := storage.Start(ctx, storage.Config{DataDir: filepath.Join(t.TempDir(), "etcd")})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	leases := []string{"kube-controller-manager", "kube-scheduler"}
	holders := func(s *testserver.Server) map[string]string {
		got := map[string]string{}
		for _, name := range leases {
			l, err := s.Client.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, name, metav1.GetOptions{})
			if err == nil && l.Spec.HolderIdentity != nil {
				got[name] = *l.Spec.HolderIdentity
			}
		}
		return got
	}
	waitHolders := func(s *testserver.Server, timeout time.Duration, ok func(map[string]string) bool) map[string]string {
		t.Helper()
		var got map[string]string
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
			got = holders(s)
			return len(got) == len(leases) && ok(got), nil
		})
		if err != nil {
			t.Fatalf("lease holders %v: %v", got, err)
		}
		return got
	}

	a := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), EtcdServers: etcd.Endpoints()})
	first := waitHolders(a, 30*time.Second, func(map[string]string) bool { return true })
	b := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), EtcdServers: etcd.Endpoints()})
	time.Sleep(3 * time.Second) // longer than the retry period: b has tried
	if got := holders(b); !maps.Equal(got, first) {
		t.Fatalf("with two servers the holders changed from %v to %v", first, got)
	}

	a.Stop()
	// a released its Leases if its API server still answered, else they
	// expire after 15 s.
	waitHolders(b, 40*time.Second, func(got map[string]string) bool {
		for _, name := range leases {
			if got[name] == first[name] {
				return false
			}
		}
		return true
	})
	// b's controllers now run: a new namespace gets its default service account.
	b.CreateNamespace(t, "after-failover")
}

// TestDisableScheduler: with --disable=scheduler the server places no pod,
// so that another scheduler can run in its place; nothing takes the
// scheduler's Lease either.
func TestDisableScheduler(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Disable: []string{"scheduler"},
		Simulated: app.SimulatedNodesConfig{Count: 1}})
	ctx := t.Context()
	s.CreateNamespace(t, "disabled")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "waits"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := s.Client.CoreV1().Pods("disabled").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The built-in scheduler binds such a pod well within this.
	time.Sleep(3 * time.Second)
	got, err := s.Client.CoreV1().Pods("disabled").Get(ctx, "waits", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != "" {
		t.Errorf("pod bound to %q with the scheduler disabled", got.Spec.NodeName)
	}
	if _, err := s.Client.CoordinationV1().Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("scheduler Lease: want NotFound, got %v", err)
	}
}
