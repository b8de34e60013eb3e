package app_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/storage"
)

func loopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestExternalEtcdClusterTLS: two API servers on an external etcd cluster
// of three members that takes only TLS clients with certificates of its CA
// (--etcd-servers, --etcd-cafile, --etcd-certfile, --etcd-keyfile). A write
// through one is read through the other, they keep serving when a member
// is lost, and a snapshot of a member restores the objects.
func TestExternalEtcdClusterTLS(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	lo := net.ParseIP("127.0.0.1")
	var members []*storage.Etcd
	var endpoints []string
	var files storage.TLSFiles
	for i := range 3 {
		name := fmt.Sprintf("m%d", i)
		dir := filepath.Join(root, name)
		tls, err := app.EtcdMemberPKI(filepath.Join(root, "m0"), dir, name, lo)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			files = tls
		}
		member := &storage.MemberConfig{Name: name, AdvertiseIP: lo, TLS: tls}
		clientPort, peerPort := loopbackPort(t), loopbackPort(t)
		if i > 0 {
			if member.InitialCluster, _, err = storage.AddMember(ctx, endpoints, tls, name, member.PeerURL(peerPort)); err != nil {
				t.Fatal(err)
			}
		}
		e, err := storage.Start(ctx, storage.Config{DataDir: filepath.Join(dir, "etcd"), ClientPort: clientPort, PeerPort: peerPort, Member: member})
		if err != nil {
			t.Fatalf("start member %s: %v", name, err)
		}
		t.Cleanup(e.Close)
		members = append(members, e)
		endpoints = append(endpoints, e.Endpoints()...)
	}
	c, err := storage.NewClient(ctx, endpoints, files)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := storage.ListMembers(ctx, c); err != nil || len(got) != 3 {
		t.Fatalf("members: %v, %v", got, err)
	}
	// Without a client certificate etcd refuses.
	refusedCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := storage.SaveSnapshot(refusedCtx, endpoints[0], storage.TLSFiles{CAFile: files.CAFile}, filepath.Join(root, "refused.db")); err == nil {
		t.Error("etcd served a client without a certificate")
	}

	cfg := app.ServerConfig{EtcdServers: endpoints, EtcdTLS: files}
	cfg.DataDir = t.TempDir()
	a := testserver.StartWith(t, cfg)
	cfg.DataDir = t.TempDir()
	b := testserver.StartWith(t, cfg)
	create := func(s *testserver.Server, name string) error {
		_, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		return err
	}
	read := func(s *testserver.Server, name string) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := s.Client.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil, nil
		}); err != nil {
			t.Fatalf("ConfigMap %s not readable: %v", name, err)
		}
	}
	if err := create(a, "through-a"); err != nil {
		t.Fatal(err)
	}
	read(b, "through-a")

	// The loss of a member: the servers' clients go to the others.
	members[0].Close()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return create(b, "after-loss") == nil, nil
	}); err != nil {
		t.Fatalf("no write after a member's loss: %v", err)
	}
	read(a, "after-loss")

	snap := filepath.Join(root, "snap.db")
	if _, err := storage.SaveSnapshot(ctx, endpoints[1], files, snap); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(root, "restored")
	if err := storage.RestoreSnapshot(snap, restored, ""); err != nil {
		t.Fatal(err)
	}
	if err := storage.RestoreSnapshot(snap, restored, ""); err == nil {
		t.Error("a restore over an existing data dir went ahead")
	}
	lone, err := storage.Start(ctx, storage.Config{DataDir: restored})
	if err != nil {
		t.Fatal(err)
	}
	defer lone.Close()
	lc, err := storage.NewClient(ctx, lone.Endpoints(), storage.TLSFiles{})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	for _, name := range []string{"through-a", "after-loss"} {
		resp, err := lc.Get(ctx, "/registry/configmaps/default/"+name)
		if err != nil || len(resp.Kvs) != 1 {
			t.Errorf("restored %s: %v, %v", name, resp, err)
			continue
		}
		if resp.Header.Revision < storage.RestoreRevisionBump {
			t.Errorf("restored revision %d: want it moved past %d", resp.Header.Revision, storage.RestoreRevisionBump)
		}
	}
}
