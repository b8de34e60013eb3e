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
