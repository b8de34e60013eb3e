package app

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
)

// TestSpreadConnections: a client made from spreadConnections' config
// sends its requests over n connections of its own, round-robin, each
// with the config's TLS settings and credentials.
func TestSpreadConnections(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			t.Errorf("request without the config's token: %q", r.Header.Get("Authorization"))
		}
		if r.ProtoMajor != 2 {
			t.Errorf("request over %s, want HTTP/2", r.Proto)
		}
		mu.Lock()
		conns[r.RemoteAddr]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	cfg := &rest.Config{Host: srv.URL, BearerToken: "secret", TLSClientConfig: rest.TLSClientConfig{
		CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
	}}
	spread, err := spreadConnections(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	client, err := rest.HTTPClientFor(spread)
	if err != nil {
		t.Fatal(err)
	}
	for range 9 {
		resp, err := client.Get(srv.URL + "/api")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(conns) != 3 {
		t.Fatalf("requests came over %d connections (%v), want 3", len(conns), conns)
	}
	for addr, n := range conns {
		if n != 3 {
			t.Errorf("connection %s carried %d requests, want 3 (round-robin)", addr, n)
		}
	}
}
