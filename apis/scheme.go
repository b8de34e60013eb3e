package apis

import (
	"fmt"
	"reflect"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

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
		{Name: "apiregistration.k8s.io", Versions: []string{"v1"}, AddToScheme: addAPIRegistration},
		{Name: "apps", Versions: []string{"v1"}, AddToScheme: appsv1.AddToScheme},
		{Name: "batch", Versions: []string{"v1"}, AddToScheme: batchv1.AddToScheme},
		// autoscaling/v1 also holds Scale, the kind of every /scale subresource.
		{Name: "autoscaling", Versions: []string{"v2", "v1"}, AddToScheme: addAll(autoscalingv2.AddToScheme, autoscalingv1.AddToScheme)},
		{Name: "coordination.k8s.io", Versions: []string{"v1"}, AddToScheme: coordinationv1.AddToScheme},
		{Name: "discovery.k8s.io", Versions: []string{"v1"}, AddToScheme: discoveryv1.AddToScheme},
		{Name: "events.k8s.io", Versions: []string{"v1"}, AddToScheme: eventsv1.AddToScheme},
		{Name: "networking.k8s.io", Versions: []string{"v1"}, AddToScheme: networkingv1.AddToScheme},
		{Name: "policy", Versions: []string{"v1"}, AddToScheme: policyv1.AddToScheme},
		{Name: "node.k8s.io", Versions: []string{"v1"}, AddToScheme: nodev1.AddToScheme},
		{Name: "scheduling.k8s.io", Versions: []string{"v1"}, AddToScheme: schedulingv1.AddToScheme},
		{Name: "rbac.authorization.k8s.io", Versions: []string{"v1"}, AddToScheme: rbacv1.AddToScheme},
		{Name: "storage.k8s.io", Versions: []string{"v1"}, AddToScheme: storagev1.AddToScheme},
		{Name: "resource.k8s.io", Versions: []string{"v1"}, AddToScheme: resourcev1.AddToScheme},
		{Name: "admissionregistration.k8s.io", Versions: []string{"v1"}, AddToScheme: admissionregistrationv1.AddToScheme},
		{Name: "certificates.k8s.io", Versions: []string{"v1"}, AddToScheme: certificatesv1.AddToScheme},
		{Name: "authentication.k8s.io", Versions: []string{"v1"}, AddToScheme: authenticationv1.AddToScheme},
		{Name: "authorization.k8s.io", Versions: []string{"v1"}, AddToScheme: authorizationv1.AddToScheme},
		// API priority and fairness (stored, not enforced) and storage version migration.
		{Name: "flowcontrol.apiserver.k8s.io", Versions: []string{"v1"}, AddToScheme: flowcontrolv1.AddToScheme},
		{Name: "storagemigration.k8s.io", Versions: []string{"v1"}, AddToScheme: storagemigrationv1.AddToScheme},
	}
}

// addAPIRegistration registers the APIService types alone: kube-aggregator's
// AddToScheme would also register its defaulting, which kubelite does itself
// (package defaults).
func addAPIRegistration(s *runtime.Scheme) error {
	s.AddKnownTypes(apiregistrationv1.SchemeGroupVersion, &apiregistrationv1.APIService{}, &apiregistrationv1.APIServiceList{})
	metav1.AddToGroupVersion(s, apiregistrationv1.SchemeGroupVersion)
	return nil
}

func addAll(fns ...func(*runtime.Scheme) error) func(*runtime.Scheme) error {
	return func(s *runtime.Scheme) error {
		for _, f := range fns {
			if err := f(s); err != nil {
				return err
			}
		}
		return nil
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
	if err := addConversions(s); err != nil {
		return nil, fmt.Errorf("register conversions: %w", err)
	}
	if err := addOptionConversions(s); err != nil {
		return nil, fmt.Errorf("register option conversions: %w", err)
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

// addInternal registers the group's API types a second time under the internal
// version, making the external types the hub. Each kind's internal type is that of
// the most preferred version that has the kind; a kind served in several versions
// with different types needs conversions (see conversion.go). Only types from a
// version's own Go package are copied: the meta/v1 options that
// metav1.AddToGroupVersion adds to every version have internal forms of their own.
func addInternal(s *runtime.Scheme, g Group) error {
	internal := schema.GroupVersion{Group: g.Name, Version: runtime.APIVersionInternal}
	metaPkg := reflect.TypeOf(metav1.ListOptions{}).PkgPath()
	done := map[string]bool{}
	for _, v := range g.Versions {
		for kind, t := range s.KnownTypes(schema.GroupVersion{Group: g.Name, Version: v}) {
			if t.PkgPath() == metaPkg || done[kind] {
				continue
			}
			obj, ok := reflect.New(t).Interface().(runtime.Object)
			if !ok {
				return fmt.Errorf("type %v of %s/%s is not a runtime.Object", t, g.Name, v)
			}
			s.AddKnownTypeWithName(internal.WithKind(kind), obj)
			done[kind] = true
		}
	}
	return nil
}
