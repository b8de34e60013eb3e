package registry

import (
	"context"
	"reflect"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// strategy is the one create, update and delete strategy of every resource; its
// behaviour comes from the row.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	row   *Resource
	authz authorizer.Authorizer
}

var (
	_ rest.RESTCreateStrategy         = strategy{}
	_ rest.RESTUpdateStrategy         = strategy{}
	_ rest.RESTDeleteStrategy         = strategy{}
	_ rest.RESTGracefulDeleteStrategy = strategy{}
	_ rest.ResetFieldsStrategy        = strategy{}

	_ rest.GarbageCollectionDeleteStrategy = strategy{}
)

func newStrategy(typer runtime.ObjectTyper, authz authorizer.Authorizer, row *Resource) strategy {
	return strategy{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator, row: row, authz: authz}
}

func (s strategy) NamespaceScoped() bool { return s.row.Namespaced }

// DefaultGarbageCollectionPolicy is what happens to the dependents of an
// object deleted without a propagation policy: deleted in the background,
// or orphaned for rows with OrphanByDefault.
func (s strategy) DefaultGarbageCollectionPolicy(ctx context.Context) rest.GarbageCollectionPolicy {
	if s.row.OrphanByDefault {
		return rest.OrphanDependents
	}
	return rest.DeleteDependents
}

func (s strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	if s.row.ValidateStatus != nil && !s.row.KeepStatusOnCreate {
		clearField(obj, "Status")
	}
	if s.row.TrackGeneration {
		if m, err := meta.Accessor(obj); err == nil {
			m.SetGeneration(1)
		}
	}
	if s.row.PrepareForCreate != nil {
		s.row.PrepareForCreate(ctx, obj)
	}
}

func (s strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	return s.row.Validate(obj)
}

func (strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string { return nil }

func (strategy) Canonicalize(obj runtime.Object) {}

func (s strategy) AllowCreateOnUpdate(ctx context.Context) bool { return s.row.AllowCreateOnUpdate }

func (s strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if s.row.ValidateStatus != nil {
		copyField(obj, old, "Status")
	}
	if s.row.TrackGeneration && !fieldEqual(obj, old, "Spec") {
		if m, err := meta.Accessor(obj); err == nil {
			if om, err := meta.Accessor(old); err == nil {
				m.SetGeneration(om.GetGeneration() + 1)
			}
		}
	}
	if s.row.PrepareForUpdate != nil {
		s.row.PrepareForUpdate(obj, old)
	}
}

func (s strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return s.row.ValidateUpdate(obj, old)
}

func (strategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string { return nil }

func (strategy) AllowUnconditionalUpdate(ctx context.Context) bool { return true }

func (s strategy) CheckGracefulDelete(ctx context.Context, obj runtime.Object, options *metav1.DeleteOptions) bool {
	if s.row.GracefulDelete == nil || options == nil {
		return false
	}
	return s.row.GracefulDelete(obj, options)
}

// GetResetFields says which fields a write through this strategy never changes, so
// server-side apply does not record their ownership: the status, when it has its
// own subresource.
func (s strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if s.row.ValidateStatus == nil {
		return nil
	}
	return resetFields(s.row, "status")
}

// resetFields says that path is reset in every version the row is served at.
func resetFields(row *Resource, path string) map[fieldpath.APIVersion]*fieldpath.Set {
	m := map[fieldpath.APIVersion]*fieldpath.Set{}
	for _, gv := range row.GroupVersions() {
		m[fieldpath.APIVersion(gv.String())] = fieldpath.NewSet(fieldpath.MakePathOrDie(path))
	}
	return m
}

// statusStrategy is the update strategy of a /status subresource: only the status
// changes.
type statusStrategy struct {
	strategy
}

func (s statusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	copyField(obj, old, "Spec")
	if s.row.PrepareForStatusUpdate != nil {
		s.row.PrepareForStatusUpdate(obj, old)
	}
}

func (s statusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	errs := s.row.ValidateStatus(obj, old)
	if len(errs) == 0 && s.row.AuthorizeStatus != nil && s.authz != nil {
		errs = s.row.AuthorizeStatus(ctx, s.authz, obj, old)
	}
	return errs
}

func (s statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return resetFields(s.row, "spec")
}

// structField returns the named field of the struct obj points to, if it has one.
func structField(obj runtime.Object, name string) (reflect.Value, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName(name)
	return f, f.IsValid() && f.CanSet()
}

func clearField(obj runtime.Object, name string) {
	if f, ok := structField(obj, name); ok {
		f.SetZero()
	}
}

// copyField sets dst's named field to a deep copy of src's.
func copyField(dst, src runtime.Object, name string) {
	d, ok1 := structField(dst, name)
	s, ok2 := structField(src.DeepCopyObject(), name)
	if ok1 && ok2 && d.Type() == s.Type() {
		d.Set(s)
	}
}

func fieldEqual(a, b runtime.Object, name string) bool {
	fa, ok1 := structField(a, name)
	fb, ok2 := structField(b, name)
	if !ok1 || !ok2 {
		return true
	}
	return apiequality.Semantic.DeepEqual(fa.Interface(), fb.Interface())
}
