package app_test

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestProfilingAuthorized: the API server serves Go's profiles under
// /debug/pprof/ as kube-apiserver does (--profiling, default on), behind
// authorization: the admin (system:masters) gets the index and a profile, an
// anonymous client, an ordinary user and a service account get 403. With
// --profiling=false the path is not served at all.
func TestProfilingAuthorized(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	// get GETs path with the query parameters params (name, value, ...).
	get := func(cfg *rest.Config, path string, params ...string) (string, error) {
		req := kubernetes.NewForConfigOrDie(cfg).Discovery().RESTClient().Get().AbsPath(path)
		for i := 0; i+1 < len(params); i += 2 {
			req = req.Param(params[i], params[i+1])
		}
		body, err := req.DoRaw(ctx)
		return string(body), err
	}

	body, err := get(s.Config, "/debug/pprof/")
	if err != nil {
		t.Fatalf("admin GET /debug/pprof/: %v", err)
	}
	for _, want := range []string{"Types of profiles available", "heap", "goroutine"} {
		if !strings.Contains(body, want) {
			t.Errorf("admin GET /debug/pprof/: no %q in the index:\n%s", want, body)
		}
	}
	if body, err := get(s.Config, "/debug/pprof/heap", "debug", "1"); err != nil || !strings.Contains(body, "heap profile:") {
		t.Errorf("admin GET /debug/pprof/heap?debug=1: %v, body starts %.80q", err, body)
	}

	impersonate := func(user string, groups ...string) *rest.Config {
		cfg := rest.CopyConfig(s.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
		return cfg
	}
	for name, cfg := range map[string]*rest.Config{
		"anonymous":       anonymousConfig(s),
		"ordinary user":   impersonate("alice", "system:authenticated"),
		"service account": impersonate("system:serviceaccount:default:default", "system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"),
	} {
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile", "/debug/flags/v"} {
			if _, err := get(cfg, path, "seconds", "1"); !apierrors.IsForbidden(err) {
				t.Errorf("%s GET %s: want 403, got %v", name, path, err)
			}
		}
	}

	off := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Profiling: app.ProfilingConfig{Disabled: true}})
	if _, err := get(off.Config, "/debug/pprof/"); !apierrors.IsNotFound(err) {
		t.Errorf("admin GET /debug/pprof/ with profiling off: want 404, got %v", err)
	}
}

// TestSchedulerProfilingAddressLoopback: the standalone scheduler's
// unauthenticated profiles may only listen on loopback.
func TestSchedulerProfilingAddressLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"": true, "127.0.0.1:10251": true, "[::1]:10251": true, "localhost:10251": true,
		"0.0.0.0:10251": false, ":10251": false, "10.0.0.1:10251": false, "example.com:10251": false, "127.0.0.1": false,
	} {
		err := app.SchedulerConfig{Kubeconfig: "k", ProfilingAddress: addr}.Validate()
		if (err == nil) != ok {
			t.Errorf("--profiling-address %q: got %v, want ok=%v", addr, err, ok)
		}
	}
}
