package garbagecollector

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	discoveryfake "k8s.io/client-go/discovery/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
)

var configMaps = corev1.SchemeGroupVersion.WithResource("configmaps")

func partial(name string, uid types.UID, owners ...metav1.OwnerReference) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid, ResourceVersion: "1", OwnerReferences: owners},
	}
}

// TestCollectIsConservative: a dependent is deleted only when its owner
// lookup says NotFound or finds another uid, never on other errors or for
// unknown kinds.
func TestCollectIsConservative(t *testing.T) {
	cmOwner := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "owner-uid"}
	cases := []struct {
		name      string
		owner     metav1.OwnerReference
		objects   []runtime.Object
		getErr    error
		wantError bool
		deleted   bool
	}{
		{name: "owner exists", owner: cmOwner, objects: []runtime.Object{partial("owner", "owner-uid")}},
		{name: "owner not found", owner: cmOwner, deleted: true},
		{name: "owner replaced", owner: cmOwner, objects: []runtime.Object{partial("owner", "other-uid")}, deleted: true},
		{name: "lookup fails", owner: cmOwner, getErr: apierrors.NewInternalError(errors.New("boom")), wantError: true},
		{name: "unknown kind", owner: metav1.OwnerReference{APIVersion: "x.example.com/v1", Kind: "X", Name: "owner", UID: "owner-uid"},
			wantError: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			scheme := metadatafake.NewTestScheme()
			if err := metav1.AddMetaToScheme(scheme); err != nil {
				t.Fatal(err)
			}
			dep := partial("dep", "dep-uid", tc.owner)
			meta := metadatafake.NewSimpleMetadataClient(scheme, append(tc.objects, dep)...)
			if tc.getErr != nil {
				meta.PrependReactor("get", "configmaps", func(a clienttesting.Action) (bool, runtime.Object, error) {
					if a.(clienttesting.GetAction).GetName() == "owner" {
						return true, nil, tc.getErr
					}
					return false, nil, nil
				})
			}
			c, err := New(Config{Metadata: meta, Discovery: &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}})
			if err != nil {
				t.Fatal(err)
			}
			c.kinds.set(resources{complete: true, byKind: map[schema.GroupKind]apiResource{
				{Kind: "ConfigMap"}: {gvr: configMaps, kind: schema.GroupKind{Kind: "ConfigMap"}, namespaced: true, watchable: true},
			}})
			c.graph.observe(node{uid: "dep-uid", resource: configMaps, kind: schema.GroupKind{Kind: "ConfigMap"},
				namespace: "ns", name: "dep", owners: dep.OwnerReferences})

			err = c.sync(ctx, "dep-uid")
			if (err != nil) != tc.wantError {
				t.Errorf("sync error = %v, want error %v", err, tc.wantError)
			}
			_, err = meta.Resource(configMaps).Namespace("ns").Get(ctx, "dep", metav1.GetOptions{})
			if gone := apierrors.IsNotFound(err); gone != tc.deleted {
				t.Errorf("dependent deleted = %v, want %v (get: %v)", gone, tc.deleted, err)
			}
		})
	}
}

// newCollector builds a collector over a fake metadata client holding objects,
// with the graph fed the same objects and ConfigMaps as the only kind.
func newCollector(t *testing.T, objects ...*metav1.PartialObjectMetadata) (*Controller, *metadatafake.FakeMetadataClient) {
	t.Helper()
	scheme := metadatafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	for _, o := range objects {
		objs = append(objs, o)
	}
	meta := metadatafake.NewSimpleMetadataClient(scheme, objs...)
	c, err := New(Config{Metadata: meta, Discovery: &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}})
	if err != nil {
		t.Fatal(err)
	}
	c.kinds.set(resources{complete: true, byKind: map[schema.GroupKind]apiResource{
		{Kind: "ConfigMap"}: {gvr: configMaps, kind: schema.GroupKind{Kind: "ConfigMap"}, namespaced: true, watchable: true},
	}})
	for _, o := range objects {
		c.monitors.observe(apiResource{gvr: configMaps, kind: schema.GroupKind{Kind: "ConfigMap"}}, o)
	}
	return c, meta
}

func deletingWith(o *metav1.PartialObjectMetadata, finalizers ...string) *metav1.PartialObjectMetadata {
	now := metav1.Now()
	o.DeletionTimestamp, o.Finalizers = &now, finalizers
	return o
}

func finalizersOf(t *testing.T, meta *metadatafake.FakeMetadataClient, name string) []string {
	t.Helper()
	o, err := meta.Resource(configMaps).Namespace("ns").Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return o.Finalizers
}

// TestForegroundWaitsForBlockingDependents: the foregroundDeletion
// finalizer stays while a dependent with blockOwnerDeletion exists, and
// goes once the graph no longer has it; a non-blocking one does not wait.
func TestForegroundWaitsForBlockingDependents(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ref := func(block bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "owner-uid", BlockOwnerDeletion: ptr.To(block)}
	}
	owner := deletingWith(partial("owner", "owner-uid"), metav1.FinalizerDeleteDependents)
	c, meta := newCollector(t, owner, partial("blocker", "blocker-uid", ref(true)), partial("free", "free-uid", ref(false)))
	for q := c.loop.Queue(); q.Len() > 0; {
		key, _ := q.Get()
		q.Done(key)
	}
	if err := c.sync(ctx, "owner-uid"); err != nil {
		t.Fatal(err)
	}
	if got := finalizersOf(t, meta, "owner"); len(got) != 1 {
		t.Fatalf("finalizers with a blocking dependent = %v, want it kept", got)
	}
	if got := c.loop.Queue().Len(); got != 2 {
		t.Errorf("queued %d dependents for deletion, want 2", got)
	}
	c.graph.forget("blocker-uid")
	if err := c.sync(ctx, "owner-uid"); err != nil {
		t.Fatal(err)
	}
	if got := finalizersOf(t, meta, "owner"); len(got) != 0 {
		t.Errorf("finalizers once only a non-blocking dependent is left = %v, want none", got)
	}
}

// TestOrphan: the owner's references leave its dependents, then its orphan
// finalizer goes; other owners stay.
func TestOrphan(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	owner := deletingWith(partial("owner", "owner-uid"), metav1.FinalizerOrphanDependents, "example.com/keep")
	toOwner := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "owner-uid"}
	toOther := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "other", UID: "other-uid"}
	c, meta := newCollector(t, owner, partial("other", "other-uid"), partial("dep", "dep-uid", toOwner, toOther))
	if err := c.sync(ctx, "owner-uid"); err != nil {
		t.Fatal(err)
	}
	dep, err := meta.Resource(configMaps).Namespace("ns").Get(ctx, "dep", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dep.OwnerReferences) != 1 || dep.OwnerReferences[0].UID != "other-uid" {
		t.Errorf("dependent's owners = %+v, want only other", dep.OwnerReferences)
	}
	if got := finalizersOf(t, meta, "owner"); len(got) != 1 || got[0] != "example.com/keep" {
		t.Errorf("owner's finalizers = %v, want only example.com/keep", got)
	}
}
