package app

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/NYTimes/gziphandler"
	restful "github.com/emicklei/go-restful/v3"
	"github.com/munnerz/goautoneg"
	"k8s.io/apiserver/pkg/server/mux"
	"k8s.io/apiserver/pkg/server/routes"
	"k8s.io/klog/v2"
	openapiaggregator "k8s.io/kube-aggregator/pkg/controllers/openapi/aggregator"
	openapiv3aggregator "k8s.io/kube-aggregator/pkg/controllers/openapiv3/aggregator"
	kubeopenapiaggregator "k8s.io/kube-openapi/pkg/aggregator"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/common/restfuladapter"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// OpenAPI is served lazily. kube-apiserver builds /openapi/v2 and every
// /openapi/v3 group version document when it starts and keeps them; here each
// document is built on its first request (kubectl explain, apply, validation),
// so that a server nobody asks for its schemas neither spends the start-up time
// nor holds the memory (tens of MiB). The documents served are the same: the
// server's own routes merged with its delegate's (apiextensions and the CRDs).
// One difference: /openapi/v3 lists the server's own group versions under a
// hash of the binary, not of each document's content (see binaryHash), so that
// listing them does not build them all. And each document, once built, is kept
// as bytes only (openAPIDocument), not also as objects as kube-openapi's
// handlers keep it.

// openAPI serves /openapi/v2 and /openapi/v3 for a server and its delegate.
type openAPI struct {
	// v2 and v3 configure the documents of the server's own routes.
	v2 *common.Config
	v3 *common.OpenAPIV3Config
	// delegate serves the delegate's documents (apiextensions and the CRDs).
	delegate http.Handler
	// defs holds the generated definitions while documents are being built.
	defs *definitionsCache

	// groups are the server's own v3 group versions by path ("apis/apps/v1"),
	// each built on first use.
	groups map[string]*v3Group
}

// serveOpenAPI registers the lazy /openapi/v2 and /openapi/v3 handlers on pathMux for
// the routes of container and the documents of delegate.
func serveOpenAPI(container *restful.Container, delegate http.Handler, v2 *common.Config, v3 *common.OpenAPIV3Config, defs *definitionsCache, pathMux *mux.PathRecorderMux) *openAPI {
	o := &openAPI{v2: v2, v3: v3, delegate: delegate, defs: defs, groups: map[string]*v3Group{}}
	webServices := container.RegisteredWebServices()
	binary := binaryHash()
	for _, ws := range webServices {
		// One document per web service root path, as kube-apiserver groups them.
		gv := strings.TrimPrefix(ws.RootPath(), "/")
		sum := sha512.Sum512([]byte(binary + " " + gv))
		o.groups[gv] = &v3Group{path: gv, ws: ws, hash: fmt.Sprintf("%X", sum)}
	}

	// v2: the server's own document merged with the delegate's, which is
	// downloaded (with its etag) on each request; rebuilt when that etag
	// changes, and kept as bytes only (see v2Document).
	downloader := openapiaggregator.NewDownloader()
	v2doc := &v2Document{
		build: func() (*spec.Swagger, error) {
			o.defs.hold()
			defer o.defs.release()
			s, err := builder.BuildOpenAPISpecFromRoutes(restfuladapter.AdaptWebServices(webServices), o.v2)
			if err != nil {
				return nil, err
			}
			s.Definitions = handler.PruneDefaults(s.Definitions)
			return s, nil
		},
		delegate: openapiaggregator.NewCacheableDownloader("apiextensions", &downloader, delegate),
	}
	pathMux.Handle("/openapi/v2", gziphandler.GzipHandler(http.HandlerFunc(v2doc.serveHTTP)))

	// v3: the discovery document lists every group version with its hash (the
	// delegate's of their content, the server's own of the binary: see
	// binaryHash); each group version's document comes from whichever server
	// has it, the server's own built on first request.
	pathMux.Handle("/openapi/v3", http.HandlerFunc(o.serveV3Discovery))
	pathMux.HandlePrefix("/openapi/v3/", http.HandlerFunc(o.serveV3GroupVersion))
	return o
}

// mergeV2 merges the server's document (first) and the delegate's, as the
// aggregator merges the documents of a delegation chain.
func mergeV2(results []cached.Result[*spec.Swagger]) (*spec.Swagger, string, error) {
	var merged *spec.Swagger
	etags := make([]string, 0, len(results))
	for _, r := range results {
		s, etag, err := r.Get()
		if err != nil {
			klog.Background().Error(err, "OpenAPI v2 document missing from the merge")
			continue
		}
		if merged == nil {
			merged = &spec.Swagger{}
			*merged = *s
			merged.Paths, merged.Definitions, merged.Parameters = nil, nil, nil
		}
		etags = append(etags, etag)
		if err := kubeopenapiaggregator.MergeSpecsIgnorePathConflictRenamingDefinitionsAndParameters(merged, s); err != nil {
			return nil, "", fmt.Errorf("merge OpenAPI v2 documents: %w", err)
		}
	}
	if merged == nil {
		return nil, "", fmt.Errorf("no OpenAPI v2 document to serve")
	}
	return merged, fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(etags, ",")))), nil
}

// v3Group is one of the server's own OpenAPI v3 group version documents.
type v3Group struct {
	path string
	ws   *restful.WebService
	// hash is the one /openapi/v3 lists: of the binary and the path.
	hash string

	mu  sync.Mutex
	doc *openAPIDocument
}

// get builds the document on first use, with the generic server's own v3
// installation over this one web service, and keeps it as bytes.
func (g *v3Group) get(cfg *common.OpenAPIV3Config, defs *definitionsCache) (*openAPIDocument, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.doc != nil {
		return g.doc, nil
	}
	defs.hold()
	defer defs.release()
	c := restful.NewContainer()
	c.Add(g.ws)
	service := routes.OpenAPI{V3Config: cfg}.InstallV3(c, mux.NewPathRecorderMux("openapi-v3-"+g.path))
	// The installation serves the document it built; its JSON is what is
	// kept.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/openapi/v3/"+g.path, nil)
	req.Header.Set("Accept", "application/json")
	service.HandleGroupVersion(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
		return nil, fmt.Errorf("OpenAPI v3 document %s: built with status %d", g.path, rec.Code)
	}
	// A copy of its size: the recorder's buffer has grown to up to twice it.
	g.doc = newOpenAPIDocument(bytes.Clone(rec.Body.Bytes()), handler3.ToV3ProtoBinary)
	return g.doc, nil
}

func (o *openAPI) serveV3Discovery(w http.ResponseWriter, r *http.Request) {
	merged := handler3.OpenAPIV3Discovery{Paths: map[string]handler3.OpenAPIV3DiscoveryGroupVersion{}}
	downloader := openapiv3aggregator.NewDownloader()
	if d, status, err := downloader.OpenAPIV3Root(o.delegate); err != nil {
		klog.FromContext(r.Context()).Error(err, "OpenAPI v3 discovery of the delegate", "status", status)
	} else if d != nil {
		for k, v := range d.Paths {
			merged.Paths[k] = v
		}
	}
	for p, g := range o.groups {
		merged.Paths[p] = handler3.OpenAPIV3DiscoveryGroupVersion{ServerRelativeURL: v3URL(p, g.hash)}
	}
	body, err := json.Marshal(&merged)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, "/openapi/v3", time.Now(), strings.NewReader(string(body)))
}

func v3URL(path, hash string) string {
	u := url.URL{Path: "/openapi/v3/" + path, RawQuery: url.Values{"hash": {hash}}.Encode()}
	return u.String()
}

func (o *openAPI) serveV3GroupVersion(w http.ResponseWriter, r *http.Request) {
	// /openapi/v3/<group version path>
	p := strings.TrimPrefix(r.URL.Path, "/openapi/v3/")
	if g, ok := o.groups[p]; ok {
		if hash := r.URL.Query().Get("hash"); hash != "" {
			if hash != g.hash {
				http.Redirect(w, r, v3URL(p, g.hash), http.StatusMovedPermanently)
				return
			}
			// The hash names this document for good: cache it as the generic
			// handler does for its content hashes.
			w.Header().Set("Cache-Control", "public, immutable")
			w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).Format(time.RFC1123))
			r = r.Clone(r.Context())
			q := r.URL.Query()
			q.Del("hash")
			r.URL.RawQuery = q.Encode()
		}
		doc, err := g.get(o.v3, o.defs)
		if err != nil {
			klog.FromContext(r.Context()).Error(err, "OpenAPI v3")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		doc.serve(w, r, v3ProtobufTypes)
		return
	}
	downloader := openapiv3aggregator.NewDownloader()
	if d, _, err := downloader.OpenAPIV3Root(o.delegate); err == nil && d != nil {
		if _, ok := d.Paths[p]; ok {
			o.delegate.ServeHTTP(w, r)
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
}

// binaryHash identifies the program's own OpenAPI v3 documents, which are a
// function of the binary alone (its routes and generated definitions): a hash
// of the running executable's build information, size and modification time.
// kube-apiserver lists each document under the hash of its content, which
// means building every document to answer /openapi/v3; naming them after the
// binary instead lets each be built when it is first asked for. Clients cache
// a document under its hash for good; a new binary lists new hashes.
func binaryHash() string {
	h := sha512.New()
	if info, ok := debug.ReadBuildInfo(); ok {
		h.Write([]byte(info.String()))
	}
	// /proc/self/exe is the file this process runs even if it has since been
	// replaced on disk; elsewhere, the executable's path.
	exe := "/proc/self/exe"
	if _, err := os.Stat(exe); err != nil {
		exe, _ = os.Executable()
	}
	if st, err := os.Stat(exe); err == nil {
		fmt.Fprintf(h, "%d %d", st.Size(), st.ModTime().UnixNano())
	} else {
		// Nothing names this binary: make the hashes unique to this process.
		fmt.Fprintf(h, "%d %d", os.Getpid(), time.Now().UnixNano())
	}
	return fmt.Sprintf("%X", h.Sum(nil))
}

// definitionsCache holds the generated OpenAPI definitions (a map of several
// MiB) only while documents are being built: kube-openapi's default v3 config
// keeps them for the life of the server. Holders bracket their builds with
// hold and release; when the last one releases, the map is dropped and built
// again (a pure function of the binary) next time.
type definitionsCache struct {
	get common.GetOpenAPIDefinitions

	mu    sync.Mutex
	holds int
	defs  map[string]common.OpenAPIDefinition
}

func newDefinitionsCache(get common.GetOpenAPIDefinitions) *definitionsCache {
	return &definitionsCache{get: get}
}

func (c *definitionsCache) hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds++
}

func (c *definitionsCache) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds--
	if c.holds == 0 {
		c.defs = nil
	}
}

// definitions is a common.GetOpenAPIDefinitions for the v3 config: every
// caller of one config passes the same reference function, so one result
// serves them all while it is held.
func (c *definitionsCache) definitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.defs != nil {
		return c.defs
	}
	defs := c.get(ref)
	if c.holds > 0 {
		c.defs = defs
	}
	return defs
}

// The protobuf media types of each OpenAPI version, as kube-openapi's handlers
// accept them: the current one, which responses name, then the deprecated one.
var (
	v2ProtobufTypes = [2]string{"com.github.proto-openapi.spec.v2.v1.0+protobuf", "com.github.proto-openapi.spec.v2@v1.0+protobuf"}
	v3ProtobufTypes = [2]string{"com.github.proto-openapi.spec.v3.v1.0+protobuf", "com.github.proto-openapi.spec.v3@v1.0+protobuf"}
)

// openAPIDocument is an OpenAPI document kept as its JSON, with the protobuf
// form made from the JSON on its first request. kube-openapi's handlers keep
// the document's objects too, for the life of the server: ~11 MiB of live
// heap for /openapi/v2, ~5 MiB for /openapi/v3/api/v1, measured on an idle
// server. Here they go once the JSON is written.
type openAPIDocument struct {
	json     []byte
	etag     string
	modified time.Time
	toProto  func([]byte) ([]byte, error)

	protoOnce sync.Once
	proto     []byte
	protoErr  error
}

// newOpenAPIDocument keeps json, tagged as kube-openapi tags it (the SHA-512
// of the JSON); toProto converts it to the protobuf form.
func newOpenAPIDocument(json []byte, toProto func([]byte) ([]byte, error)) *openAPIDocument {
	return &openAPIDocument{json: json, etag: fmt.Sprintf("%X", sha512.Sum512(json)), modified: time.Now(), toProto: toProto}
}

// serve answers r with the document in the first form that its Accept header
// takes, as kube-openapi's handlers negotiate: JSON, or protobuf under either
// of protoTypes; 406 for anything else. The ETag and Last-Modified headers
// let http.ServeContent answer conditional requests.
func (d *openAPIDocument) serve(w http.ResponseWriter, r *http.Request, protoTypes [2]string) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	w.Header().Add("Vary", "Accept")
	for _, clause := range goautoneg.ParseAccept(accept) {
		if clause.Type != "application" && clause.Type != "*" {
			continue
		}
		for _, sub := range []string{"json", protoTypes[0], protoTypes[1]} {
			if clause.SubType != sub && clause.SubType != "*" {
				continue
			}
			data, contentType := d.json, "application/json"
			if sub != "json" {
				d.protoOnce.Do(func() { d.proto, d.protoErr = d.toProto(d.json) })
				if d.protoErr != nil {
					http.Error(w, d.protoErr.Error(), http.StatusServiceUnavailable)
					return
				}
				data, contentType = d.proto, "application/"+protoTypes[0]
			}
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Etag", strconv.Quote(d.etag))
			http.ServeContent(w, r, "", d.modified, bytes.NewReader(data))
			return
		}
	}
	w.WriteHeader(http.StatusNotAcceptable)
}

// v2Document is /openapi/v2: the server's own document merged with the
// delegate's. It is rebuilt, the server's part included, when the delegate's
// etag changes (a CRD was added, changed or removed), and kept as bytes in
// between: rebuilding the server's part takes a few hundred milliseconds,
// keeping its objects ~11 MiB.
type v2Document struct {
	// build builds the server's own document.
	build func() (*spec.Swagger, error)
	// delegate is the delegate's document, downloaded on each Get.
	delegate cached.Value[*spec.Swagger]

	mu           sync.Mutex
	delegateETag string
	doc          *openAPIDocument
}

func (v *v2Document) serveHTTP(w http.ResponseWriter, r *http.Request) {
	doc, err := v.get()
	if err != nil {
		klog.FromContext(r.Context()).Error(err, "OpenAPI v2")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	doc.serve(w, r, v2ProtobufTypes)
}

// get returns the document, rebuilt first if the delegate's has changed.
// While the delegate cannot be downloaded, the last document serves; the first
// one is then built without it, and rebuilt once it can be.
func (v *v2Document) get() (*openAPIDocument, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	d, etag, err := v.delegate.Get()
	if v.doc != nil && (err != nil || etag == v.delegateETag) {
		return v.doc, nil
	}
	local, lerr := v.build()
	if lerr != nil {
		return nil, fmt.Errorf("build OpenAPI v2 document: %w", lerr)
	}
	merged, _, merr := mergeV2([]cached.Result[*spec.Swagger]{{Value: local, Etag: "local"}, {Value: d, Etag: etag, Err: err}})
	if merr != nil {
		return nil, merr
	}
	b, merr := merged.MarshalJSON()
	if merr != nil {
		return nil, fmt.Errorf("OpenAPI v2 document: %w", merr)
	}
	v.doc = newOpenAPIDocument(b, handler.ToProtoBinary)
	v.delegateETag = etag
	if err != nil {
		v.delegateETag = "" // not the delegate's: rebuild once it answers
	}
	return v.doc, nil
}
