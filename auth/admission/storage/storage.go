// Package storage holds the two admission plugins for volumes:
//
//   - DefaultStorageClass: a new PersistentVolumeClaim that names no class
//     (neither spec.storageClassName nor the beta annotation) gets the
//     default StorageClass, the one annotated
//     storageclass.kubernetes.io/is-default-class: "true" (the newest, then
//     the first by name, when several are). With no default class the claim
//     is left alone; an explicit "" keeps it classless.
//   - StorageObjectInUseProtection: a new PersistentVolume gets the
//     kubernetes.io/pv-protection finalizer and a new claim the
//     kubernetes.io/pvc-protection finalizer, which the volume protection
//     controllers remove once nothing uses the object.
package storage

import (
	"context"
	"errors"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/component-helpers/storage/volume"
)

// Plugin names in the admission chain, and the finalizers, as upstream.
const (
	DefaultClassPluginName = "DefaultStorageClass"
	ProtectionPluginName   = "StorageObjectInUseProtection"
	PVCProtectionFinalizer = "kubernetes.io/pvc-protection"
	PVProtectionFinalizer  = "kubernetes.io/pv-protection"
	IsDefaultClassAnn      = "storageclass.kubernetes.io/is-default-class"
	betaIsDefaultClassAnn  = "storageclass.beta.kubernetes.io/is-default-class"
	betaStorageClassAnn    = "volume.beta.kubernetes.io/storage-class"
)

var (
	claims  = corev1.Resource("persistentvolumeclaims")
	volumes = corev1.Resource("persistentvolumes")
)

// DefaultClass is the DefaultStorageClass plugin.
type DefaultClass struct {
	*admission.Handler
	classes storagelisters.StorageClassLister
}

var (
	_ admission.MutationInterface                  = (*DefaultClass)(nil)
	_ admission.InitializationValidator            = (*DefaultClass)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*DefaultClass)(nil)
	_ admission.MutationInterface                  = (*Protection)(nil)
)

// NewDefaultClass returns the plugin; it needs an informer factory before
// it admits anything.
func NewDefaultClass() *DefaultClass {
	return &DefaultClass{Handler: admission.NewHandler(admission.Create)}
}

// SetExternalKubeInformerFactory takes the StorageClass lister from f.
func (p *DefaultClass) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	inf := f.Storage().V1().StorageClasses()
	p.SetReadyFunc(inf.Informer().HasSynced)
	p.classes = inf.Lister()
}

// ValidateInitialization reports a missing lister.
func (p *DefaultClass) ValidateInitialization() error {
	if p.classes == nil {
		return errors.New("DefaultStorageClass: missing StorageClass lister")
	}
	return nil
}

// Admit gives a classless claim the default class.
func (p *DefaultClass) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" || a.GetResource().GroupResource() != claims {
		return nil
	}
	pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim)
	if !ok || volume.PersistentVolumeClaimHasClass(pvc) {
		return nil
	}
	if _, ok := pvc.Annotations[betaStorageClassAnn]; ok {
		return nil
	}
	def, err := DefaultStorageClass(p.classes)
	if err != nil {
		return admission.NewForbidden(a, err)
	}
	if def != nil {
		pvc.Spec.StorageClassName = &def.Name
	}
	return nil
}

// IsDefault reports whether class is marked as the default one.
func IsDefault(class *storagev1.StorageClass) bool {
	return class.Annotations[IsDefaultClassAnn] == "true" || class.Annotations[betaIsDefaultClassAnn] == "true"
}

// DefaultStorageClass returns the default class, nil if there is none: of
// several, the newest, then the first by name, as upstream chooses.
func DefaultStorageClass(lister storagelisters.StorageClassLister) (*storagev1.StorageClass, error) {
	all, err := lister.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var defaults []*storagev1.StorageClass
	for _, c := range all {
		if IsDefault(c) {
			defaults = append(defaults, c)
		}
	}
	if len(defaults) == 0 {
		return nil, nil
	}
	slices.SortFunc(defaults, func(a, b *storagev1.StorageClass) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return defaults[0], nil
}

// Protection is the StorageObjectInUseProtection plugin.
type Protection struct {
	*admission.Handler
}

// NewProtection returns the plugin.
func NewProtection() *Protection {
	return &Protection{Handler: admission.NewHandler(admission.Create)}
}

// Admit adds the protection finalizer to a new volume or claim.
func (p *Protection) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" {
		return nil
	}
	switch a.GetResource().GroupResource() {
	case claims:
		if pvc, ok := a.GetObject().(*corev1.PersistentVolumeClaim); ok && !slices.Contains(pvc.Finalizers, PVCProtectionFinalizer) {
			pvc.Finalizers = append(pvc.Finalizers, PVCProtectionFinalizer)
		}
	case volumes:
		if pv, ok := a.GetObject().(*corev1.PersistentVolume); ok && !slices.Contains(pv.Finalizers, PVProtectionFinalizer) {
			pv.Finalizers = append(pv.Finalizers, PVProtectionFinalizer)
		}
	}
	return nil
}
