package storage

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"
)

// TestAPIServerLeases: servers' records list sorted, a removed one goes at
// once, one that stops renewing expires after the TTL, and Changes tells of
// both but not of renewals.
func TestAPIServerLeases(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	etcd, err := Start(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	c, err := NewClient(ctx, etcd.Endpoints(), TLSFiles{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const prefix = "/registry/masterleases/"
	a, b, d := NewAPIServerLeases(c, prefix, 2*time.Second), NewAPIServerLeases(c, prefix, 2*time.Second), NewAPIServerLeases(c, prefix, time.Minute)
	ipA, ipB, ipD := net.ParseIP("10.0.0.10"), net.ParseIP("10.0.0.9"), net.ParseIP("fd00::1")
	changes := a.Changes(ctx)
	for _, u := range []struct {
		l  *APIServerLeases
		ip net.IP
	}{{a, ipA}, {b, ipB}, {d, ipD}} {
		if err := u.l.Update(ctx, u.ip); err != nil {
			t.Fatal(err)
		}
	}
	list := func() []string {
		t.Helper()
		ips, err := a.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ip := range ips {
			out = append(out, ip.String())
		}
		return out
	}
	if got, want := list(), []string{"10.0.0.9", "10.0.0.10", "fd00::1"}; !slices.Equal(got, want) {
		t.Fatalf("List: %v, want %v", got, want)
	}
	waitChange := func(what string, within time.Duration) {
		t.Helper()
		select {
		case <-changes:
		case <-time.After(within):
			t.Fatalf("no change seen after %s", what)
		}
	}
	waitChange("three new records", 5*time.Second)
	// The three puts may reach the watch in more than one response, each
	// a notice: let them all arrive before a renewal is tried.
	for quiet := false; !quiet; {
		select {
		case <-changes:
		case <-time.After(300 * time.Millisecond):
			quiet = true
		}
	}
	// Renewals change nothing: no notice.
	if err := a.Update(ctx, ipA); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
		t.Fatal("a renewal was told as a change")
	case <-time.After(500 * time.Millisecond):
	}
	if err := d.Remove(ctx, ipD); err != nil {
		t.Fatal(err)
	}
	waitChange("a removal", 5*time.Second)
	if got, want := list(), []string{"10.0.0.9", "10.0.0.10"}; !slices.Equal(got, want) {
		t.Fatalf("List after a removal: %v, want %v", got, want)
	}
	// b stops renewing, a goes on: b expires within its TTL (and etcd's
	// lease checkpoint slack), a does not.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(list()) > 1 {
		if err := a.Update(ctx, ipA); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got, want := list(), []string{"10.0.0.10"}; !slices.Equal(got, want) {
		t.Fatalf("List after b stopped renewing: %v, want %v", got, want)
	}
	waitChange("an expiry", 5*time.Second)
	// One lease per server: the renewals revoked the ones before.
	leases, err := c.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(leases.Leases) != 1 {
		t.Errorf("%d leases held, want 1 (a's)", len(leases.Leases))
	}
}

// TestStartInBackground checks that a member started in the background takes
// clients at its endpoint at once, and that Wait returns it serving.
func TestStartInBackground(t *testing.T) {
	ctx := context.Background()
	starting, err := StartInBackground(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ctx, starting.Endpoints(), TLSFiles{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Put(ctx, "/probe", "x"); err != nil {
		t.Fatalf("put while etcd starts: %v", err)
	}
	etcd, err := starting.Wait()
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	if got, want := etcd.Endpoints(), starting.Endpoints(); got[0] != want[0] {
		t.Errorf("serving at %v, announced %v", got, want)
	}
	if _, err := StartInBackground(ctx, Config{DataDir: t.TempDir(), Member: &MemberConfig{}}); err == nil {
		t.Error("a cluster member started in the background")
	}
}
