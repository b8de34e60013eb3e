package namespace

import (
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	discoveryfake "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
)

var (
	testNow        = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	namespacesGVR  = corev1.SchemeGroupVersion.WithResource("namespaces")
	podsGVR        = corev1.SchemeGroupVersion.WithResource("pods")
	configMapsGVR  = corev1.SchemeGroupVersion.WithResource("configmaps")
	widgetsGVR     = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	allVerbs       = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	listDeleteOnly = metav1.Verbs{"delete", "get", "list"}
)

// fixture is a controller over fake clients, with the informer cache seeded
// instead of started.
type fixture struct {
	ctrl     *Controller
	client   *fake.Clientset
	metadata *metadatafake.FakeMetadataClient
	clock    *testingclock.FakeClock
	factory  informers.SharedInformerFactory
	// grace is the graceful deletion period per resource; zero: none.
	grace map[schema.GroupVersionResource]time.Duration
}

func newFixture(t *testing.T, namespaces []*corev1.Namespace, content ...runtime.Object) *fixture {
	t.Helper()
	objs := make([]runtime.Object, 0, len(namespaces))
	for _, ns := range namespaces {
		objs = append(objs, ns)
	}
	client := fake.NewClientset(objs...)
	client.Discovery().(*discoveryfake.FakeDiscovery).Resources = []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Namespaced: true, Kind: "Pod", Verbs: allVerbs},
			{Name: "configmaps", Namespaced: true, Kind: "ConfigMap", Verbs: allVerbs},
			{Name: "bindings", Namespaced: true, Kind: "Binding", Verbs: metav1.Verbs{"create"}},
			{Name: "namespaces", Namespaced: false, Kind: "Namespace", Verbs: allVerbs},
		}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
			{Name: "widgets", Namespaced: true, Kind: "Widget", Verbs: listDeleteOnly},
		}},
	}
	// Behave like kubelite's API server: a namespace goes only once its
	// spec finalizers are gone, and the UID precondition is checked.
	client.PrependReactor("delete", "namespaces", func(action clienttesting.Action) (bool, runtime.Object, error) {
		del := action.(clienttesting.DeleteAction)
		obj, err := client.Tracker().Get(namespacesGVR, "", del.GetName())
		if err != nil {
			return true, nil, err
		}
		ns := obj.(*corev1.Namespace)
		pre := del.GetDeleteOptions().Preconditions
		if pre == nil || pre.UID == nil {
			return true, nil, fmt.Errorf("test wants a UID precondition on deleting namespace %s", ns.Name)
		}
		if *pre.UID != ns.UID {
			return true, nil, apierrors.NewConflict(namespacesGVR.GroupResource(), ns.Name, errors.New("uid precondition failed"))
		}
		if len(ns.Spec.Finalizers) > 0 {
			return true, nil, fmt.Errorf("namespace %s still has finalizers %v", ns.Name, ns.Spec.Finalizers)
		}
		return true, nil, client.Tracker().Delete(namespacesGVR, "", ns.Name)
	})

	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	meta := metadatafake.NewSimpleMetadataClient(scheme, content...)

	factory := informers.NewSharedInformerFactory(client, 0)
	informer := factory.Core().V1().Namespaces()
	for _, ns := range namespaces {
		if err := informer.Informer().GetIndexer().Add(ns); err != nil {
			t.Fatal(err)
		}
	}
	clk := testingclock.NewFakeClock(testNow)
	ctrl, err := New(Config{Client: client, Metadata: meta, Discovery: client.Discovery(), Informer: informer, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctrl.queue.ShutDown)
	f := &fixture{ctrl: ctrl, client: client, metadata: meta, clock: clk, factory: factory, grace: map[schema.GroupVersionResource]time.Duration{}}
	meta.PrependReactor("delete-collection", "*", f.deleteCollection)
	return f
}

func namespace(name string, deletedAgo time.Duration, finalizers ...corev1.FinalizerName) *corev1.Namespace {
	ns := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec:       corev1.NamespaceSpec{Finalizers: finalizers},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	if deletedAgo >= 0 {
		ts := metav1.NewTime(testNow.Add(-deletedAgo))
		ns.DeletionTimestamp = &ts
		ns.Status.Phase = corev1.NamespaceTerminating
	}
	return ns
}

const active = time.Duration(-1)

func object(kind, ns, name string, finalizers ...string) *metav1.PartialObjectMetadata {
	apiVersion := "v1"
	if kind == "Widget" {
		apiVersion = "example.com/v1"
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: finalizers},
	}
}

// contentLeft lists the content the metadata client still holds, as
// "resource/namespace/name".
func (f *fixture) contentLeft(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, gvr := range []schema.GroupVersionResource{configMapsGVR, podsGVR, widgetsGVR} {
		list, err := f.metadata.Resource(gvr).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			out = append(out, gvr.Resource+"/"+item.Namespace+"/"+item.Name)
		}
	}
	return out
}

// namespaceWrites lists the writes made to namespaces, as "verb[/subresource]".
func (f *fixture) namespaceWrites() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if a.GetResource() != namespacesGVR || a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		v := a.GetVerb()
		if a.GetSubresource() != "" {
			v += "/" + a.GetSubresource()
		}
		out = append(out, v)
	}
	return out
}

// lastConditions returns the condition statuses and reasons of the last
// status write, as "Type=Status:Reason".
func (f *fixture) lastConditions() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if a.GetResource() != namespacesGVR || a.GetVerb() != "update" || a.GetSubresource() != "status" {
			continue
		}
		out = nil
		for _, c := range a.(clienttesting.UpdateAction).GetObject().(*corev1.Namespace).Status.Conditions {
			out = append(out, fmt.Sprintf("%s=%s:%s", c.Type, c.Status, c.Reason))
		}
	}
	return out
}

// deleteCollection makes the metadata client's delete-collection act like
// the API server's (the fake's own does nothing): objects with finalizers get
// a deletionTimestamp and stay, objects of a resource with a grace period in
// f.grace get a deletionTimestamp that far ahead and stay, others go.
func (f *fixture) deleteCollection(action clienttesting.Action) (bool, runtime.Object, error) {
	gvr, ns := action.GetResource(), action.GetNamespace()
	objs, err := f.metadata.Tracker().List(gvr, schema.GroupVersionKind{Group: "fake-metadata-client-group", Version: "v1"}, ns)
	if err != nil {
		return true, nil, err
	}
	for _, item := range objs.(*metav1.List).Items {
		obj := item.Object.(*metav1.PartialObjectMetadata)
		grace := f.grace[gvr]
		if len(obj.Finalizers) == 0 && grace == 0 {
			if err := f.metadata.Tracker().Delete(gvr, ns, obj.Name); err != nil {
				return true, nil, err
			}
			continue
		}
		if obj.DeletionTimestamp == nil {
			ts := metav1.NewTime(f.clock.Now().Add(grace))
			obj.DeletionTimestamp = &ts
		}
		if err := f.metadata.Tracker().Update(gvr, obj, ns); err != nil {
			return true, nil, err
		}
	}
	return true, nil, nil
}

// waitForLen waits briefly for the queue's delaying goroutine to move items.
func waitForLen(f *fixture, want int) error {
	deadline := time.Now().Add(5 * time.Second)
	for f.ctrl.queue.Len() != want {
		if time.Now().After(deadline) {
			return fmt.Errorf("queue length = %d, want %d", f.ctrl.queue.Len(), want)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}
