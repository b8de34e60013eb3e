package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/handler3"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestOpenAPI checks the documents built on demand: /openapi/v3 lists the
// server's group versions and the delegate's, each listed URL serves its
// document for good (immutable), an outdated hash is redirected to the current
// one, an unknown group version is not found, and /openapi/v2 holds the
// server's definitions and the delegate's. Each document comes as JSON or
// protobuf by Accept (either protobuf media type) under one ETag, answers a
// conditional request with 304 and anything else with 406; /openapi/v2 shows
// a CRD created after it was first built.
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

	// Both forms of each document, by Accept, with one ETag that a
	// conditional request matches; 406 for a form neither has.
	fetch := func(path, accept string, header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Config.Host+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	core := root.Paths["api/v1"].ServerRelativeURL
	for _, c := range []struct{ path, protobuf, deprecated string }{
		{"/openapi/v2", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
		{core, "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"},
	} {
		js := fetch(c.path, "application/json")
		etag := js.Header.Get("Etag")
		for _, accept := range []string{c.protobuf, c.deprecated + ", application/json"} {
			pb := fetch(c.path, accept)
			body, _ := io.ReadAll(pb.Body)
			if pb.StatusCode != http.StatusOK || pb.Header.Get("Content-Type") != c.protobuf || len(body) == 0 || body[0] == '{' {
				t.Errorf("GET %s as %s: %s, Content-Type %q, %d bytes", c.path, accept, pb.Status, pb.Header.Get("Content-Type"), len(body))
			}
			if pb.Header.Get("Etag") != etag || etag == "" {
				t.Errorf("GET %s as %s: ETag %q, JSON's %q", c.path, accept, pb.Header.Get("Etag"), etag)
			}
		}
		if resp := fetch(c.path, "application/json", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match its ETag: %s, want 304", c.path, resp.Status)
		}
		if resp := fetch(c.path, "text/html"); resp.StatusCode != http.StatusNotAcceptable {
			t.Errorf("GET %s as text/html: %s, want 406", c.path, resp.Status)
		}
	}

	// /openapi/v2 follows the delegate: a new CRD's schema appears in it.
	crd := `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
		"metadata":{"name":"gizmos.openapi.example.com"},
		"spec":{"group":"openapi.example.com","scope":"Namespaced","names":{"kind":"Gizmo","plural":"gizmos"},
		"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}}]}}`
	resp, err := client.Post(s.Config.Host+"/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "application/json", strings.NewReader(crd))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create CRD: %v %v", resp, err)
	}
	resp.Body.Close()
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		var v2 struct{ Definitions map[string]any }
		resp := fetch("/openapi/v2", "application/json")
		if json.NewDecoder(resp.Body).Decode(&v2) != nil {
			return false, nil
		}
		_, ok := v2.Definitions["com.example.openapi.v1.Gizmo"]
		return ok, nil
	})
	if err != nil {
		t.Errorf("/openapi/v2 lacks the new CRD's com.example.openapi.v1.Gizmo after 30 s")
	}
}
