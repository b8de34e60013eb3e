package reliability

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/kubelite/kubelite/apis"
	"github.com/kubelite/kubelite/registry"
)

// The body formats the fuzz targets decode, as the API server accepts them.
var fuzzFormats = []string{runtime.ContentTypeJSON, runtime.ContentTypeYAML, runtime.ContentTypeProtobuf}

// fuzzEnv is the scheme and the resource table every fuzz input runs against.
type fuzzEnv struct {
	scheme *apis.Scheme
	rows   map[schema.GroupKind]*registry.Resource
	// fixtures are the decoded objects of registry/testdata, one per row, the
	// old objects of the updates.
	fixtures map[schema.GroupKind]runtime.Object
	// seeds are the fixtures' bodies in every format.
	seeds []fuzzSeed
}

type fuzzSeed struct {
	body   []byte
	format byte
}

var (
	fuzzOnce sync.Once
	fuzzE    *fuzzEnv
	fuzzErr  error
)

// newFuzzEnv builds the scheme and decodes the fixture of every row of the
// resource table (registry/testdata, as TestEveryResource uses them) into the
// seeds.
func newFuzzEnv(t testing.TB) *fuzzEnv {
	fuzzOnce.Do(func() {
		s, err := apis.NewScheme()
		if err != nil {
			fuzzErr = err
			return
		}
		e := &fuzzEnv{scheme: s, rows: map[schema.GroupKind]*registry.Resource{}, fixtures: map[schema.GroupKind]runtime.Object{}}
		for _, row := range registry.Resources() {
			gk := schema.GroupKind{Group: row.GroupVersion.Group, Kind: row.Kind}
			e.rows[gk] = row
			data, err := os.ReadFile(filepath.Join("..", "registry", "testdata", row.Name+"."+row.GroupVersion.Group+".yaml"))
			if err != nil {
				data, err = os.ReadFile(filepath.Join("..", "registry", "testdata", row.Name+".yaml"))
			}
			if err != nil {
				fuzzErr = err
				return
			}
			obj, err := e.decode(data, 1)
			if err != nil {
				fuzzErr = err
				return
			}
			if r, _ := e.row(obj); r != row {
				fuzzErr = fmt.Errorf("the fixture of %s decodes to %T, not to its kind", row.Name, obj)
				return
			}
			e.fixtures[gk] = obj
			for f, mediaType := range fuzzFormats {
				body := data
				if f != 1 {
					var buf bytes.Buffer
					info, _ := runtime.SerializerInfoForMediaType(s.Codecs.SupportedMediaTypes(), mediaType)
					if err := s.Codecs.EncoderForVersion(info.Serializer, row.GroupVersion).Encode(obj, &buf); err != nil {
						fuzzErr = err
						return
					}
					body = buf.Bytes()
				}
				e.seeds = append(e.seeds, fuzzSeed{body: body, format: byte(f)})
			}
		}
		fuzzE = e
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzE
}

// decode decodes a body in the format as a create or update request's body
// is: into the internal version, defaulted.
func (e *fuzzEnv) decode(body []byte, format byte) (runtime.Object, error) {
	info, _ := runtime.SerializerInfoForMediaType(e.scheme.Codecs.SupportedMediaTypes(), fuzzFormats[int(format)%len(fuzzFormats)])
	obj, _, err := e.scheme.Codecs.DecoderToVersion(info.Serializer, runtime.InternalGroupVersioner).Decode(body, nil, nil)
	return obj, err
}

// row returns the resource table's row of obj's kind.
func (e *fuzzEnv) row(obj runtime.Object) (*registry.Resource, schema.GroupKind) {
	kinds, _, err := e.scheme.ObjectKinds(obj)
	if err != nil {
		return nil, schema.GroupKind{}
	}
	for _, k := range kinds {
		if row := e.rows[k.GroupKind()]; row != nil {
			return row, k.GroupKind()
		}
	}
	return nil, schema.GroupKind{}
}

// FuzzDecode feeds a request body of any served kind, in JSON, YAML or
// protobuf, through what the API server does with it before it stores it:
// decoding to the internal version with defaults, the kind's validation on
// create, on update against its fixture and of the status subresource, the
// kind's preparation for create, encoding to the stored and the served forms
// and back, and kubectl's table columns. The resource table dispatches by
// kind: one target for every served kind, seeded with every kind's fixture in
// every format. Nothing may panic; errors are the expected answer to bad
// bodies.
func FuzzDecode(f *testing.F) {
	e := newFuzzEnv(f)
	for _, s := range e.seeds {
		f.Add(s.body, s.format)
	}
	ctx := genericapirequest.WithUser(genericapirequest.WithNamespace(context.Background(), "fixtures"),
		&user.DefaultInfo{Name: "admin", Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}})
	f.Fuzz(func(t *testing.T, body []byte, format byte) {
		obj, err := e.decode(body, format)
		if err != nil {
			return
		}
		row, gk := e.row(obj)
		if row == nil {
			return
		}
		fixture := e.fixtures[gk]
		row.Validate(obj)
		row.ValidateUpdate(obj, fixture.DeepCopyObject())
		row.ValidateUpdate(fixture.DeepCopyObject(), obj)
		if row.ValidateStatus != nil {
			row.ValidateStatus(obj, fixture.DeepCopyObject())
		}
		if row.Table != nil {
			_, _ = row.Table().ConvertToTable(ctx, obj, nil)
		}
		created := obj.DeepCopyObject()
		if row.PrepareForCreate != nil {
			row.PrepareForCreate(ctx, created)
		}
		row.Validate(created)
		if row.PrepareForUpdate != nil {
			row.PrepareForUpdate(obj.DeepCopyObject(), fixture.DeepCopyObject())
		}
		for _, mediaType := range []string{runtime.ContentTypeProtobuf, runtime.ContentTypeJSON} {
			info, _ := runtime.SerializerInfoForMediaType(e.scheme.Codecs.SupportedMediaTypes(), mediaType)
			var buf bytes.Buffer
			if err := e.scheme.Codecs.EncoderForVersion(info.Serializer, row.GroupVersion).Encode(obj, &buf); err != nil {
				// Decoding accepted it: the served version must encode it.
				t.Errorf("%s decoded but does not encode as %s: %v", gk, mediaType, err)
				continue
			}
			if _, _, err := e.scheme.Codecs.DecoderToVersion(info.Serializer, runtime.InternalGroupVersioner).Decode(buf.Bytes(), nil, nil); err != nil {
				t.Errorf("%s does not decode from its own %s encoding: %v", gk, mediaType, err)
			}
		}
	})
}
