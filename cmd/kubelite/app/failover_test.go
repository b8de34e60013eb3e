package app

import (
	"context"
	"net"
	"testing"
)

// TestServerFailover: connections go to the first server that answers,
// and stay with it until it fails.
func TestServerFailover(t *testing.T) {
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	a, b := listen(), listen()
	// A port nobody listens on: a server that is down.
	down := listen()
	downURL := "https://" + down.Addr().String()
	down.Close()
	f, err := newServerFailover([]string{downURL, "https://" + a.Addr().String(), "https://" + b.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dialed := func() string {
		t.Helper()
		c, err := f.DialContext(ctx, "tcp", "ignored:443")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.RemoteAddr().String()
	}
	if got := dialed(); got != a.Addr().String() {
		t.Fatalf("first dial went to %s, want %s (the first that answers)", got, a.Addr())
	}
	if got := dialed(); got != a.Addr().String() {
		t.Fatalf("second dial went to %s, want %s again", got, a.Addr())
	}
	a.Close()
	if got := dialed(); got != b.Addr().String() {
		t.Fatalf("dial after %s failed went to %s, want %s", a.Addr(), got, b.Addr())
	}
	b.Close()
	if _, err := f.DialContext(ctx, "tcp", "ignored:443"); err == nil {
		t.Fatal("a dial with every server down succeeded")
	}
}
