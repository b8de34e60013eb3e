package namespace

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

func TestDeletable(t *testing.T) {
	got, err := deletable([]*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Namespaced: true, Verbs: allVerbs},
			{Name: "bindings", Namespaced: true, Verbs: metav1.Verbs{"create"}},
			{Name: "events", Namespaced: true, Verbs: metav1.Verbs{"deletecollection"}},
			{Name: "readonly", Namespaced: true, Verbs: metav1.Verbs{"get", "list"}},
			{Name: "nodes", Namespaced: false, Verbs: allVerbs},
		}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
			{Name: "widgets", Namespaced: true, Verbs: listDeleteOnly},
		}},
		{GroupVersion: "a/b/c", APIResources: []metav1.APIResource{
			{Name: "bad", Namespaced: true, Verbs: allVerbs},
		}},
	})
	if err == nil {
		t.Error("deletable() error = nil, want the unparsable group version reported")
	}
	want := []resource{
		{gvr: corev1GVR("events"), deleteCollection: true},
		{gvr: corev1GVR("pods"), deleteCollection: true, list: true, delete: true},
		{gvr: widgetsGVR, list: true, delete: true},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(resource{})); diff != "" {
		t.Errorf("deletable() (-want +got):\n%s", diff)
	}
}

func TestResourceCache(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newFixture(t, nil)
	calls := 0
	fail := false
	f.client.PrependReactor("get", "group", func(clienttesting.Action) (bool, runtime.Object, error) {
		calls++
		if fail {
			return true, nil, errors.New("discovery is down")
		}
		return false, nil, nil
	})
	cache := f.ctrl.resources
	deletedBefore := testNow.Add(-time.Minute)

	steps := []struct {
		name      string
		do        func() discovered
		wantCalls int
		wantErr   bool
	}{
		{"first use asks the server", func() discovered { return cache.get(ctx, deletedBefore) }, 1, false},
		{"fresh result is reused", func() discovered { return cache.get(ctx, deletedBefore) }, 1, false},
		{"result older than the namespace's deletion is not", func() discovered {
			return cache.get(ctx, testNow)
		}, 2, false},
		{"expired result is not reused", func() discovered {
			f.clock.Step(resourceTTL)
			return cache.get(ctx, deletedBefore)
		}, 3, false},
		{"invalidated result is not reused", func() discovered {
			cache.invalidate()
			return cache.get(ctx, deletedBefore)
		}, 4, false},
		{"failure is reported", func() discovered {
			cache.invalidate()
			fail = true
			return cache.get(ctx, deletedBefore)
		}, 5, true},
		{"failure is not cached", func() discovered {
			fail = false
			return cache.get(ctx, deletedBefore)
		}, 6, false},
	}
	for _, step := range steps {
		d := step.do()
		if calls != step.wantCalls {
			t.Errorf("%s: discovery calls = %d, want %d", step.name, calls, step.wantCalls)
		}
		if (d.discoveryErr != nil) != step.wantErr {
			t.Errorf("%s: discovery error = %v, want error %v", step.name, d.discoveryErr, step.wantErr)
		}
		if !step.wantErr && len(d.resources) != 3 {
			t.Errorf("%s: %d resources, want 3", step.name, len(d.resources))
		}
	}
}

func corev1GVR(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Version: "v1", Resource: resource}
}
