package openapi

import (
	"strings"
	"testing"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// TestReferencesResolve checks that every schema referenced from a definition is
// itself defined: a missing one breaks the OpenAPI documents and server-side apply.
func TestReferencesResolve(t *testing.T) {
	defs := GetOpenAPIDefinitions(func(name string) spec.Ref { return spec.MustCreateRef("#/definitions/" + name) })
	for name, def := range defs {
		for _, dep := range def.Dependencies {
			if _, ok := defs[dep]; !ok {
				t.Errorf("%s depends on %s, which has no definition", name, dep)
			}
		}
		walk(def.Schema, func(ref string) {
			target := strings.TrimPrefix(ref, "#/definitions/")
			if _, ok := defs[target]; !ok {
				t.Errorf("%s refers to %s, which has no definition", name, target)
			}
		})
	}
}

func walk(s spec.Schema, visit func(string)) {
	if ref := s.Ref.String(); ref != "" {
		visit(ref)
	}
	for _, p := range s.Properties {
		walk(p, visit)
	}
	if s.Items != nil {
		if s.Items.Schema != nil {
			walk(*s.Items.Schema, visit)
		}
		for _, it := range s.Items.Schemas {
			walk(it, visit)
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walk(*s.AdditionalProperties.Schema, visit)
	}
	for _, a := range s.AllOf {
		walk(a, visit)
	}
}
