package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/handler3"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestOpenAPI checks the documents built on demand: /openapi/v3 lists the
// server's group versions and the delegate's, each listed URL serves its
// document for good (immutable), an outdated hash is redirected to the current
// one, an unknown group version is not found, and /openapi/v2 holds the
// server's definitions and the delegate's.
func TestOpenAPI(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	transport, err := rest.TransportFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	get := func(path string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Config.Host+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	var root handler3.OpenAPIV3Discovery
	if err := json.NewDecoder(get("/openapi/v3").Body).Decode(&root); err != nil {
		t.Fatal(err)
	}
	for _, gv := range []string{"api/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1", "apis/apiextensions.k8s.io/v1", "version"} {
		entry, ok := root.Paths[gv]
		if !ok {
			t.Errorf("/openapi/v3 does not list %s", gv)
			continue
		}
		u, err := url.Parse(entry.ServerRelativeURL)
		if err != nil || u.Query().Get("hash") == "" {
			t.Errorf("%s: URL %q has no hash", gv, entry.ServerRelativeURL)
			continue
		}
		resp := get(entry.ServerRelativeURL)
		var doc struct {
			OpenAPI string `json:"openapi"`
			Paths   map[string]any
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&doc) != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
			t.Errorf("GET %s: %s, document version %q", entry.ServerRelativeURL, resp.Status, doc.OpenAPI)
			continue
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want immutable", entry.ServerRelativeURL, cc)
		}
	}

	apps := root.Paths["apis/apps/v1"].ServerRelativeURL
	old := "/openapi/v3/apis/apps/v1?hash=0123"
	if resp := get(old); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != apps {
		t.Errorf("GET %s: %s to %q, want 301 to %s", old, resp.Status, resp.Header.Get("Location"), apps)
	}
	if resp := get("/openapi/v3/apis/nothing.example.com/v1"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET an unknown group version: %s, want 404", resp.Status)
	}

	var v2 struct {
		Definitions map[string]any
	}
	if err := json.NewDecoder(get("/openapi/v2").Body).Decode(&v2); err != nil {
		t.Fatal(err)
	}
	for _, def := range []string{"io.k8s.api.core.v1.Pod", "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"} {
		if _, ok := v2.Definitions[def]; !ok {
			t.Errorf("/openapi/v2 lacks %s", def)
		}
	}
}
