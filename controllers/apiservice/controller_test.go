package apiservice

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsfake "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2/ktesting"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
	aggregatorfake "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/fake"
	aggregatorinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var (
	appsV1 = schema.GroupVersion{Group: "apps", Version: "v1"}
	coreV1 = schema.GroupVersion{Version: "v1"}
)

// fixture is a controller over fake clientsets, with the informer caches
// seeded instead of started.
type fixture struct {
	ctrl    *Controller
	client  *aggregatorfake.Clientset
	indexer cache.Indexer
}

func newFixture(t *testing.T, services []*apiregistrationv1.APIService, crds []*apiextensionsv1.CustomResourceDefinition, kube ...runtime.Object) *fixture {
	t.Helper()
	objs := make([]runtime.Object, 0, len(services))
	for _, s := range services {
		objs = append(objs, s)
	}
	client := aggregatorfake.NewSimpleClientset(objs...)
	informer := aggregatorinformers.NewSharedInformerFactory(client, 0).Apiregistration().V1().APIServices()
	for _, s := range services {
		if err := informer.Informer().GetIndexer().Add(s); err != nil {
			t.Fatal(err)
		}
	}
	crdInformer := apiextensionsinformers.NewSharedInformerFactory(apiextensionsfake.NewSimpleClientset(), 0).Apiextensions().V1().CustomResourceDefinitions()
	for _, crd := range crds {
		if err := crdInformer.Informer().GetIndexer().Add(crd); err != nil {
			t.Fatal(err)
		}
	}
	ctrl, err := New(Config{
		Client:   client.ApiregistrationV1(),
		Kube:     kubefake.NewClientset(kube...),
		Informer: informer,
		CRDs:     crdInformer,
		Local:    map[schema.GroupVersion]Priority{coreV1: {18000, 1}, appsV1: {17800, 15}},
		Clock:    testingclock.NewFakePassiveClock(time.Unix(1700000000, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		ctrl.atStart[s.Name] = true
	}
	t.Cleanup(ctrl.queue.ShutDown)
	return &fixture{ctrl: ctrl, client: client, indexer: informer.Informer().GetIndexer()}
}

// sync runs one sync and returns what is stored under key afterwards (nil
// when nothing is).
func (f *fixture) sync(t *testing.T, key string) *apiregistrationv1.APIService {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	if _, err := f.ctrl.sync(ctx, key); err != nil {
		t.Fatalf("sync %s: %v", key, err)
	}
	got, err := f.client.ApiregistrationV1().APIServices().Get(context.Background(), key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func managed(s *apiregistrationv1.APIService, how string) *apiregistrationv1.APIService {
	s.Labels = map[string]string{ManagedLabel: how}
	return s
}

func remote(name, group, version string) *apiregistrationv1.APIService {
	return &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: "u-" + types.UID(name)},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: group, Version: version, GroupPriorityMinimum: 100, VersionPriority: 100,
			Service: &apiregistrationv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server", Port: ptr.To[int32](443)},
		},
	}
}

func widgets(served bool) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:    "example.com",
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: served, Storage: true}},
		},
	}
}

func TestConfigValidate(t *testing.T) {
	f := newFixture(t, nil, nil)
	if _, err := New(Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New(Config{}) = %v, want ErrInvalidConfig", err)
	}
	if err := (Config{Client: f.ctrl.client, Kube: f.ctrl.kube, Informer: nil}).Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Validate without informers = %v", err)
	}
}

// TestRegistration follows upstream's table of when an APIService is
// created, updated, deleted or left alone.
func TestRegistration(t *testing.T) {
	stale := managed(&apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.gone.k8s.io", UID: "u1"},
		Spec:       apiregistrationv1.APIServiceSpec{Group: "gone.k8s.io", Version: "v1beta1", GroupPriorityMinimum: 1, VersionPriority: 1},
	}, managedOnStart)
	drifted := managed(apiService(appsV1, Priority{1, 1}, managedOnStart), managedOnStart)
	drifted.UID = "u2"
	user := &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: "v1.mine.example.com", UID: "u3"},
		Spec:       apiregistrationv1.APIServiceSpec{Group: "mine.example.com", Version: "v1", GroupPriorityMinimum: 5, VersionPriority: 5},
	}
	crdOwned := managed(apiService(schema.GroupVersion{Group: "example.com", Version: "v1"}, Priority{crdGroupPriority, crdVersionPriority}, managedAlways), managedAlways)
	crdOwned.UID = "u4"

	for _, tc := range []struct {
		name     string
		existing []*apiregistrationv1.APIService
		crds     []*apiextensionsv1.CustomResourceDefinition
		key      string
		want     *apiregistrationv1.APIServiceSpec // nil: nothing stored
		label    string
	}{
		{name: "local group version is created", key: "v1.apps",
			want: &apiregistrationv1.APIServiceSpec{Group: "apps", Version: "v1", GroupPriorityMinimum: 17800, VersionPriority: 15}, label: managedOnStart},
		{name: "core is v1.", key: "v1.",
			want: &apiregistrationv1.APIServiceSpec{Version: "v1", GroupPriorityMinimum: 18000, VersionPriority: 1}, label: managedOnStart},
		{name: "a drifted local one is put back", existing: []*apiregistrationv1.APIService{drifted}, key: "v1.apps",
			want: &apiregistrationv1.APIServiceSpec{Group: "apps", Version: "v1", GroupPriorityMinimum: 17800, VersionPriority: 15}, label: managedOnStart},
		{name: "a stale managed one is deleted", existing: []*apiregistrationv1.APIService{stale}, key: "v1beta1.gone.k8s.io"},
		{name: "the user's own is left alone", existing: []*apiregistrationv1.APIService{user}, key: "v1.mine.example.com",
			want: &user.Spec},
		{name: "a served CRD version is registered", crds: []*apiextensionsv1.CustomResourceDefinition{widgets(true)}, key: "v1.example.com",
			want: &apiregistrationv1.APIServiceSpec{Group: "example.com", Version: "v1", GroupPriorityMinimum: 1000, VersionPriority: 100}, label: managedAlways},
		{name: "an unserved CRD version is not", crds: []*apiextensionsv1.CustomResourceDefinition{widgets(false)}, key: "v1.example.com"},
		{name: "a deleted CRD's version goes", existing: []*apiregistrationv1.APIService{crdOwned}, key: "v1.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.existing, tc.crds)
			got := f.sync(t, tc.key)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("stored %v, want nothing", got)
				}
				return
			}
			if got == nil {
				t.Fatal("nothing stored")
			}
			if diff := cmp.Diff(*tc.want, got.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if got.Labels[ManagedLabel] != tc.label {
				t.Errorf("label %q, want %q", got.Labels[ManagedLabel], tc.label)
			}
		})
	}
}

// TestOnStartSyncsOnce checks that the server's own APIServices are synced
// once per start, and that one another server registered after this one
// started is not deleted.
func TestOnStartSyncsOnce(t *testing.T) {
	other := managed(&apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: "v1.newer.k8s.io", UID: "u5"},
		Spec:       apiregistrationv1.APIServiceSpec{Group: "newer.k8s.io", Version: "v1", GroupPriorityMinimum: 1, VersionPriority: 1},
	}, managedOnStart)
	f := newFixture(t, []*apiregistrationv1.APIService{other}, nil)
	f.ctrl.atStart = map[string]bool{}
	if got := f.sync(t, other.Name); got == nil {
		t.Error("deleted an APIService another server registered after this one started")
	}

	f.sync(t, "v1.apps")
	changed, err := f.client.ApiregistrationV1().APIServices().Get(context.Background(), "v1.apps", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed.Spec.VersionPriority = 3
	if _, err := f.client.ApiregistrationV1().APIServices().Update(context.Background(), changed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The informer would bring the change; seed its cache with it.
	if err := f.indexer.Update(changed); err != nil {
		t.Fatal(err)
	}
	if got := f.sync(t, "v1.apps"); got.Spec.VersionPriority != 3 {
		t.Errorf("synced v1.apps twice in one start: versionPriority %d", got.Spec.VersionPriority)
	}
}

func TestAvailability(t *testing.T) {
	clusterIP := func(ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "metrics-server"},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: ports},
		}
	}
	slice := func(ready bool) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "metrics-server-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "metrics-server"}},
			Ports:      []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](4443)}},
			Endpoints:  []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}},
		}
	}
	https := corev1.ServicePort{Name: "https", Port: 443}
	for _, tc := range []struct {
		name   string
		kube   []runtime.Object
		status apiregistrationv1.ConditionStatus
		reason string
	}{
		{"missing service", nil, apiregistrationv1.ConditionFalse, ReasonServiceNotFound},
		{"wrong port", []runtime.Object{clusterIP(corev1.ServicePort{Port: 80})}, apiregistrationv1.ConditionFalse, ReasonServicePortError},
		{"no endpoint slices", []runtime.Object{clusterIP(https)}, apiregistrationv1.ConditionFalse, ReasonEndpointsNotFound},
		{"no ready endpoint", []runtime.Object{clusterIP(https), slice(false)}, apiregistrationv1.ConditionFalse, ReasonMissingEndpoints},
		{"everything in place", []runtime.Object{clusterIP(https), slice(true)}, apiregistrationv1.ConditionFalse, ReasonProxyNotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := remote("v1beta1.metrics.k8s.io", "metrics.k8s.io", "v1beta1")
			f := newFixture(t, []*apiregistrationv1.APIService{s}, nil, tc.kube...)
			recheck, err := f.ctrl.sync(context.Background(), s.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !recheck {
				t.Error("an APIService naming a Service is not rechecked")
			}
			got, _ := f.client.ApiregistrationV1().APIServices().Get(context.Background(), s.Name, metav1.GetOptions{})
			c := helper.GetAPIServiceConditionByType(got, apiregistrationv1.Available)
			if c == nil || c.Status != tc.status || c.Reason != tc.reason {
				t.Errorf("Available condition %+v, want %s %s", c, tc.status, tc.reason)
			}
		})
	}

	t.Run("local", func(t *testing.T) {
		f := newFixture(t, nil, nil)
		got := f.sync(t, "v1.apps")
		c := helper.GetAPIServiceConditionByType(got, apiregistrationv1.Available)
		if c == nil || c.Status != apiregistrationv1.ConditionTrue || c.Reason != ReasonLocal {
			t.Errorf("Available condition %+v, want True Local", c)
		}
	})
}
