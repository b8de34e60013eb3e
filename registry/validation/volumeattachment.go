package validation

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// VolumeAttachment limits, as upstream.
const (
	maxAttachMetadataSize = 256 * (1 << 10)
	maxVolumeErrorMessage = 1024
)

// VolumeAttachment validates a VolumeAttachment on create: a CSI attacher
// name, exactly one source (a PV name or an inline CSI volume spec), a node
// name, and bounded status fields.
func VolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	errs := objectMeta(&va.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	sp := field.NewPath("spec")
	errs = append(errs, csiDriverName(va.Spec.Attacher, sp.Child("attacher"))...)
	errs = append(errs, attachmentSource(&va.Spec.Source, sp.Child("source"))...)
	errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, va.Spec.NodeName, sp.Child("nodeName"))...)
	st := field.NewPath("status")
	size := 0
	for k, v := range va.Status.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachMetadataSize {
		errs = append(errs, field.TooLong(st.Child("attachmentMetadata"), "", maxAttachMetadataSize))
	}
	errs = append(errs, volumeError(va.Status.AttachError, st.Child("attachError"))...)
	errs = append(errs, volumeError(va.Status.DetachError, st.Child("detachError"))...)
	if pv := va.Spec.Source.PersistentVolumeName; pv != nil {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, *pv, sp.Child("source", "persistentVolumeName"))...)
	}
	return errs
}

// VolumeAttachmentUpdate validates a VolumeAttachment update: the new
// object as on create, with an immutable spec. As upstream, the metadata
// update rules are left to the generic registry.
func VolumeAttachmentUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	return append(VolumeAttachment(va), immutable(va.Spec, old.Spec, field.NewPath("spec"))...)
}

// VolumeAttachmentStatusUpdate validates a write to the status
// subresource; upstream applies the same checks as to an update.
func VolumeAttachmentStatusUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	return VolumeAttachmentUpdate(va, old)
}

func attachmentSource(s *storagev1.VolumeAttachmentSource, fldPath *field.Path) field.ErrorList {
	const oneOfMsg = "must specify exactly one of inlineVolumeSpec and persistentVolumeName"
	switch {
	case s.InlineVolumeSpec == nil && s.PersistentVolumeName == nil:
		return field.ErrorList{field.Required(fldPath, oneOfMsg)}
	case s.InlineVolumeSpec != nil && s.PersistentVolumeName != nil:
		return field.ErrorList{field.Forbidden(fldPath, oneOfMsg)}
	case s.PersistentVolumeName != nil:
		if *s.PersistentVolumeName == "" {
			return field.ErrorList{field.Required(fldPath.Child("persistentVolumeName"), "must specify non empty persistentVolumeName")}
		}
		return nil
	}
	return inlinePVSpec(s.InlineVolumeSpec, fldPath.Child("inlineVolumeSpec"))
}

// inlinePVSpec validates a PV spec migrated from an in-tree inline volume:
// a CSI source, access modes, and none of the fields that only make sense
// for a PersistentVolume object.
func inlinePVSpec(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	const ctx = " in the context of inline volumes"
	var errs field.ErrorList
	if spec.ClaimRef != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("claimRef"), "may not be specified"+ctx))
	}
	if len(spec.Capacity) != 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("capacity"), "may not be specified"+ctx))
	}
	if spec.CSI == nil {
		errs = append(errs, field.Required(fldPath.Child("csi"), "has to be specified"+ctx))
	}
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), ""))
	}
	errs = append(errs, accessModeList(spec.AccessModes, fldPath.Child("accessModes"))...)
	if p := spec.PersistentVolumeReclaimPolicy; p != "" && p != corev1.PersistentVolumeReclaimRetain {
		errs = append(errs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may only be Retain"+ctx))
	}
	if spec.NodeAffinity != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("nodeAffinity"), "may not be specified"+ctx))
	}
	errs = append(errs, pvSource(&spec.PersistentVolumeSource, false, fldPath)...)
	if spec.StorageClassName != "" {
		errs = append(errs, field.Forbidden(fldPath.Child("storageClassName"), "may not be specified"+ctx))
	}
	if m := spec.VolumeMode; m != nil && *m != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.Forbidden(fldPath.Child("volumeMode"), "may not specify volumeMode other than Filesystem"+ctx))
	}
	return errs
}

func volumeError(e *storagev1.VolumeError, fldPath *field.Path) field.ErrorList {
	if e == nil {
		return nil
	}
	var errs field.ErrorList
	if len(e.Message) > maxVolumeErrorMessage {
		errs = append(errs, field.TooLong(fldPath.Child("message"), "", maxVolumeErrorMessage))
	}
	if c := e.ErrorCode; c != nil && *c < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("errorCode"), *c, inRangeMsg(0, math.MaxInt32)))
	}
	return errs
}
