package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/registry"
)

// badBody is a request body no server should choke on.
type badBody struct {
	name, contentType string
	body              func(apiVersion, kind string) []byte
}

// nested returns n levels of open, then the middle, then n of close.
func nested(n int, open, middle, close string) string {
	return strings.Repeat(open, n) + middle + strings.Repeat(close, n)
}

// badBodies are the bodies; manyKeys is the number of labels of the "many
// keys" body.
func badBodies(manyKeys int) []badBody {
	const (
		jsonCT  = "application/json"
		yamlCT  = "application/yaml"
		protoCT = "application/vnd.kubernetes.protobuf"
	)
	head := func(apiVersion, kind string) string {
		return fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":"bad"}`, apiVersion, kind)
	}
	random := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.UintN(256))
	}
	return []badBody{
		{"empty", jsonCT, func(string, string) []byte { return nil }},
		{"truncated", jsonCT, func(v, k string) []byte { return []byte(head(v, k) + `,"spec":{`) }},
		{"random bytes", jsonCT, func(string, string) []byte { return random }},
		{"random bytes", protoCT, func(string, string) []byte { return random }},
		{"wrong types", jsonCT, func(v, k string) []byte {
			return []byte(fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":"bad","spec":[1,2],"status":7,"data":{"a":[]}}`, v, k))
		}},
		{"null everywhere", jsonCT, func(v, k string) []byte {
			return []byte(head(v, k) + `,"spec":null,"status":{"conditions":[null]},"items":[null],"subjects":[null],"rules":[null],"webhooks":[null]}`)
		}},
		{"huge numbers", jsonCT, func(v, k string) []byte {
			return []byte(head(v, k) + `,"spec":{"replicas":1e400,"parallelism":-99999999999999999999,"ports":[{"port":1e100}]}}`)
		}},
		{"nested objects 10k", jsonCT, func(v, k string) []byte {
			return []byte(head(v, k) + `,"spec":` + nested(10000, `{"a":`, `1`, `}`) + `}`)
		}},
		{"nested arrays 100k", jsonCT, func(v, k string) []byte {
			return []byte(head(v, k) + `,"spec":{"containers":` + nested(100000, `[`, ``, `]`) + `}}`)
		}},
		{"nested annotations 10k", jsonCT, func(v, k string) []byte {
			return []byte(fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":"bad","annotations":%s}}`, v, k, nested(10000, `{"a":`, `"b"`, `}`)))
		}},
		{"nested flow yaml 100k", yamlCT, func(v, k string) []byte {
			return []byte(fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata: {name: bad}\nspec: %s\n", v, k, nested(100000, "[", "", "]")))
		}},
		{"nested block yaml 5k", yamlCT, func(v, k string) []byte {
			var b strings.Builder
			fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata: {name: bad}\nspec:\n", v, k)
			for i := 1; i <= 5000; i++ {
				b.WriteString(strings.Repeat(" ", i) + "a:\n")
			}
			return []byte(b.String())
		}},
		{"yaml alias bomb", yamlCT, func(v, k string) []byte {
			var b strings.Builder
			fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata: {name: bad}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n", v, k)
			for i := 1; i < 12; i++ {
				fmt.Fprintf(&b, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
			}
			fmt.Fprintf(&b, "spec: *a11\n")
			return []byte(b.String())
		}},
		{"oversized 4MiB", jsonCT, func(v, k string) []byte {
			return []byte(fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":"bad","annotations":{"a":%q}}}`, v, k, strings.Repeat("x", 4<<20)))
		}},
		{"oversized 4MiB yaml", yamlCT, func(v, k string) []byte {
			return []byte(fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: bad\n  annotations:\n    a: %s\n", v, k, strings.Repeat("x", 4<<20)))
		}},
		{"many keys", jsonCT, func(v, k string) []byte {
			var b strings.Builder
			b.WriteString(fmt.Sprintf(`{"apiVersion":%q,"kind":%q,"metadata":{"name":"bad","labels":{`, v, k))
			for i := range manyKeys {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"k%d":"v"`, i)
			}
			b.WriteString(`}}}`)
			return []byte(b.String())
		}},
		{"protobuf magic then garbage", protoCT, func(string, string) []byte {
			return append([]byte{'k', '8', 's', 0}, random...)
		}},
		{"protobuf huge lengths", protoCT, func(string, string) []byte {
			// Unknown{TypeMeta: field 1, length 2^62} and raw with a varint of ten bytes.
			return []byte{'k', '8', 's', 0, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
		}},
		{"protobuf nested", protoCT, func(string, string) []byte {
			// Unknown.raw holding messages nested 3000 deep (field 1, length-delimited).
			inner := []byte{}
			for range 3000 {
				inner = append(append([]byte{0x0a}, varint(len(inner))...), inner...)
			}
			return append(append([]byte{'k', '8', 's', 0, 0x12}, varint(len(inner))...), inner...)
		}},
		{"unknown content type", "application/x-bad", func(v, k string) []byte { return []byte(head(v, k) + `}`) }},
	}
}

func varint(n int) []byte {
	var b []byte
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

// TestBadBodies sends every bad body to every served resource (create and
// update) and, with every patch type, to existing objects, on a live server.
// Each must be answered within the request timeout with a 4xx Status (413
// for bodies beyond the 3 MiB limit), never a 5xx; afterwards the server
// still serves.
func TestBadBodies(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	s.CreateNamespace(t, "bad")
	if _, err := s.Client.CoreV1().ConfigMaps("bad").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "victim"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	httpClient, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	httpClient.Timeout = time.Minute
	// 100000 labels cost the field manager about 4 s of CPU per request
	// (structured-merge-diff inserts each into a sorted slice: quadratic),
	// upstream's as much as kubelite's; the fast part sends 10000.
	manyKeys := 10000
	if full() {
		manyKeys = 100000
	}
	bodies := badBodies(manyKeys)
	rows := registry.Resources()
	// A kind of each scope and the core ones; the rest in `make reliability`,
	// which sends them the many keys too only when few (their cost is the
	// field manager's, the same for every kind).
	core := func(r *registry.Resource) bool {
		return r.Name == "pods" || r.Name == "configmaps" || r.Name == "namespaces" || r.Name == "deployments" || r.Name == "customresourcedefinitions" || r.Name == "clusterroles"
	}
	if !full() {
		var few []*registry.Resource
		for _, r := range rows {
			if core(r) {
				few = append(few, r)
			}
		}
		rows = few
	}
	requests := 0
	send := func(method, path, contentType string, body []byte, what string) {
		requests++
		req, err := http.NewRequestWithContext(ctx, method, s.Config.Host+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept", "application/json")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Errorf("%s %s (%s): %v", method, path, what, err)
			return
		}
		defer resp.Body.Close()
		// Errors of patches quote the patched object: up to the 3 MiB of a body, more.
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if resp.StatusCode >= 500 {
			t.Errorf("%s %s (%s): %d: %s", method, path, what, resp.StatusCode, data)
			return
		}
		if resp.StatusCode < 400 {
			return // a body that was acceptable after all
		}
		var status metav1.Status
		if err := json.Unmarshal(data, &status); err != nil || status.Kind != "Status" || int(status.Code) != resp.StatusCode {
			t.Errorf("%s %s (%s): %d with no Status: %.300s", method, path, what, resp.StatusCode, data)
		}
		if strings.HasPrefix(what, "oversized") && resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s %s (%s): %d, want 413", method, path, what, resp.StatusCode)
		}
	}
	for _, row := range rows {
		base := "/apis/" + row.GroupVersion.String()
		if row.GroupVersion.Group == "" {
			base = "/api/v1"
		}
		if row.Namespaced {
			base += "/namespaces/bad"
		}
		base += "/" + row.Name
		for _, b := range bodies {
			if b.name == "many keys" && manyKeys > 10000 && !core(row) {
				continue
			}
			body := b.body(row.GroupVersion.String(), row.Kind)
			send(http.MethodPost, base, b.contentType, body, b.name)
			send(http.MethodPut, base+"/bad", b.contentType, body, b.name)
		}
	}
	patchTypes := []string{"application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"}
	for _, path := range []string{"/api/v1/namespaces/bad/configmaps/victim", "/api/v1/namespaces/bad"} {
		for _, b := range bodies {
			for _, pt := range patchTypes {
				send(http.MethodPatch, path+"?fieldManager=bad", pt, b.body("v1", "ConfigMap"), b.name)
			}
		}
	}
	// The server still serves, and nothing bad was stored.
	if _, err := s.Client.CoreV1().Namespaces().Get(ctx, "bad", metav1.GetOptions{}); err != nil {
		t.Fatalf("the server no longer serves: %v", err)
	}
	if cm, err := s.Client.CoreV1().ConfigMaps("bad").Get(ctx, "victim", metav1.GetOptions{}); err != nil || len(cm.Data)+len(cm.Annotations)+len(cm.Labels) != 0 {
		t.Errorf("the patched ConfigMap changed: %+v, %v", cm, err)
	}
	figure(t, "bad-bodies requests=%d kinds=%d bodies=%d", requests, len(rows), len(bodies))
}
