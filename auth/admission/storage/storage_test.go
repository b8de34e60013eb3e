package storage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func class(name string, def bool, age time.Duration) *storagev1.StorageClass {
	c := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name,
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-age))}}
	if def {
		c.Annotations = map[string]string{IsDefaultClassAnn: "true"}
	}
	return c
}

func attrs(obj runtime.Object, resource string, sub string) admission.Attributes {
	return admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind("X"), "ns", "x",
		corev1.SchemeGroupVersion.WithResource(resource), sub, admission.Create, &metav1.CreateOptions{}, false, nil)
}

// TestDefaultClass: a claim without a class gets the default one (the
// newest, then the first by name); an explicit class, "" or the beta
// annotation are kept; without a default class nothing changes.
func TestDefaultClass(t *testing.T) {
	tests := []struct {
		name    string
		classes []*storagev1.StorageClass
		claim   func(*corev1.PersistentVolumeClaim)
		want    *string
	}{
		{name: "default", classes: []*storagev1.StorageClass{class("fast", false, 0), class("local-path", true, time.Hour)}, want: ptr.To("local-path")},
		{name: "newest default wins", classes: []*storagev1.StorageClass{class("old", true, time.Hour), class("new", true, 0)}, want: ptr.To("new")},
		{name: "same age: first by name", classes: []*storagev1.StorageClass{class("b", true, 0), class("a", true, 0)}, want: ptr.To("a")},
		{name: "no default", classes: []*storagev1.StorageClass{class("fast", false, 0)}},
		{name: "explicit class", classes: []*storagev1.StorageClass{class("d", true, 0)},
			claim: func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = ptr.To("fast") }, want: ptr.To("fast")},
		{name: "explicit empty", classes: []*storagev1.StorageClass{class("d", true, 0)},
			claim: func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = ptr.To("") }, want: ptr.To("")},
		{name: "beta annotation", classes: []*storagev1.StorageClass{class("d", true, 0)},
			claim: func(c *corev1.PersistentVolumeClaim) {
				c.Annotations = map[string]string{betaStorageClassAnn: "fast"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
			p := NewDefaultClass()
			p.SetExternalKubeInformerFactory(f)
			if err := p.ValidateInitialization(); err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.classes {
				_ = f.Storage().V1().StorageClasses().Informer().GetIndexer().Add(c)
			}
			pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"}}
			if tt.claim != nil {
				tt.claim(pvc)
			}
			if err := p.Admit(t.Context(), attrs(pvc, "persistentvolumeclaims", ""), nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, pvc.Spec.StorageClassName); diff != "" {
				t.Errorf("storageClassName (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProtection: new claims and volumes get their protection finalizer
// once; subresources and other kinds are left alone.
func TestProtection(t *testing.T) {
	p := NewProtection()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"a"}}}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{PVProtectionFinalizer}}}
	status := &corev1.PersistentVolumeClaim{}
	for _, a := range []admission.Attributes{
		attrs(pvc, "persistentvolumeclaims", ""), attrs(pvc, "persistentvolumeclaims", ""),
		attrs(pv, "persistentvolumes", ""), attrs(status, "persistentvolumeclaims", "status"),
	} {
		if err := p.Admit(t.Context(), a, nil); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"a", PVCProtectionFinalizer}, pvc.Finalizers); diff != "" {
		t.Errorf("claim finalizers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{PVProtectionFinalizer}, pv.Finalizers); diff != "" {
		t.Errorf("volume finalizers (-want +got):\n%s", diff)
	}
	if len(status.Finalizers) != 0 {
		t.Errorf("status update got finalizers %v", status.Finalizers)
	}
}
