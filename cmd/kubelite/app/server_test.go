package app_test

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
		"bad service CIDR": {ServiceClusterIPRange: "10.96.0.0/33"},
		"bad node ports":   {ServiceNodePortRange: "32767-30000"},
		"bad port":         {SecurePort: 70000},
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
