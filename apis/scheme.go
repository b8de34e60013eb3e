package apis

import (
	"fmt"
	"reflect"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/kubelite/kubelite/apis/defaults"
)

// Group is one served API group: its versions in priority order and the function
// that registers its external types.
type Group struct {
	Name        string
	Versions    []string
	AddToScheme func(*runtime.Scheme) error
}

// Groups returns the API groups kubelite serves, the legacy core group first.
func Groups() []Group {
	return []Group{
		{Name: "", Versions: []string{"v1"}, AddToScheme: corev1.AddToScheme},
		// autoscaling/v1 Scale is the kind of every /scale subresource.
		{Name: "autoscaling", Versions: []string{"v1"}, AddToScheme: autoscalingv1.AddToScheme},
	}
}

// Scheme holds every served type, the codecs built on it and the parameter codec the
// REST handlers decode query parameters with.
type Scheme struct {
	*runtime.Scheme
	Codecs         serializer.CodecFactory
	ParameterCodec runtime.ParameterCodec
	// External holds the same types without the internal registrations; the OpenAPI
	// definition namer reads it so that no "__internal" kind leaks into the
	// x-kubernetes-group-version-kind extensions.
	External *runtime.Scheme
}

// NewScheme builds the scheme for every group in Groups.
func NewScheme() (*Scheme, error) {
	s := runtime.NewScheme()
	ext := runtime.NewScheme()
	for _, sc := range []*runtime.Scheme{s, ext} {
		metav1.AddToGroupVersion(sc, schema.GroupVersion{Version: "v1"})
		sc.AddUnversionedTypes(schema.GroupVersion{Version: "v1"},
			&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{},
			&metav1.APIGroup{}, &metav1.APIResourceList{})
	}
	for _, g := range Groups() {
		if err := g.AddToScheme(ext); err != nil {
			return nil, fmt.Errorf("register group %q: %w", g.Name, err)
		}
		if err := g.AddToScheme(s); err != nil {
			return nil, fmt.Errorf("register group %q: %w", g.Name, err)
		}
		if err := addInternal(s, g); err != nil {
			return nil, err
		}
		gvs := make([]schema.GroupVersion, 0, len(g.Versions))
		for _, v := range g.Versions {
			gvs = append(gvs, schema.GroupVersion{Group: g.Name, Version: v})
		}
		if err := s.SetVersionPriority(gvs...); err != nil {
			return nil, err
		}
		if err := ext.SetVersionPriority(gvs...); err != nil {
			return nil, err
		}
	}
	if err := defaults.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register defaults: %w", err)
	}
	if err := addFieldLabelConversions(s); err != nil {
		return nil, fmt.Errorf("register field labels: %w", err)
	}
	return &Scheme{
		Scheme:         s,
		Codecs:         serializer.NewCodecFactory(s),
		ParameterCodec: runtime.NewParameterCodec(s),
		External:       ext,
	}, nil
}

// addInternal registers the group's preferred-version API types a second time under
// the internal version, making the external type the hub. Only types from the
// version's own Go package are copied: the meta/v1 options that
// metav1.AddToGroupVersion adds to every version have internal forms of their own.
func addInternal(s *runtime.Scheme, g Group) error {
	preferred := schema.GroupVersion{Group: g.Name, Version: g.Versions[0]}
	internal := schema.GroupVersion{Group: g.Name, Version: runtime.APIVersionInternal}
	metaPkg := reflect.TypeOf(metav1.ListOptions{}).PkgPath()
	for kind, t := range s.KnownTypes(preferred) {
		if t.PkgPath() == metaPkg {
			continue
		}
		obj, ok := reflect.New(t).Interface().(runtime.Object)
		if !ok {
			return fmt.Errorf("type %v of %v is not a runtime.Object", t, preferred)
		}
		s.AddKnownTypeWithName(internal.WithKind(kind), obj)
	}
	return nil
}
