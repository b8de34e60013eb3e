package validation

import (
	"fmt"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxCSINodeIDLength bounds CSINode driver node IDs, as upstream.
const maxCSINodeIDLength = 256

var (
	fsGroupPolicies       = []storagev1.FSGroupPolicy{storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy, storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy}
	volumeLifecycleModes  = []string{string(storagev1.VolumeLifecyclePersistent), string(storagev1.VolumeLifecycleEphemeral)}
	minTokenRequestExpiry = int64((10 * time.Minute).Seconds())
)

// CSIDriver validates a CSIDriver on create. Objects arrive defaulted, so
// the booleans the API server defaults are Required when nil
// (preventPodSchedulingIfMissing too: VolumeLimitScaling is on in 1.37).
func CSIDriver(d *storagev1.CSIDriver) field.ErrorList {
	errs := objectMeta(&d.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, csiDriverSpec(&d.Spec, field.NewPath("spec"))...)
}

// CSIDriverUpdate validates a CSIDriver update: attachRequired and
// volumeLifecycleModes are immutable. The attachRequired error path reads
// spec.attachedRequired, as upstream's does.
func CSIDriverUpdate(d, old *storagev1.CSIDriver) field.ErrorList {
	errs := objectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, csiDriverSpec(&d.Spec, field.NewPath("spec"))...)
	errs = append(errs, immutable(d.Spec.AttachRequired, old.Spec.AttachRequired, field.NewPath("spec", "attachedRequired"))...)
	return append(errs, immutable(d.Spec.VolumeLifecycleModes, old.Spec.VolumeLifecycleModes, field.NewPath("spec", "volumeLifecycleModes"))...)
}

func csiDriverSpec(spec *storagev1.CSIDriverSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	required := func(set bool, name string) {
		if !set {
			errs = append(errs, field.Required(fldPath.Child(name), ""))
		}
	}
	required(spec.AttachRequired != nil, "attachedRequired")
	required(spec.PodInfoOnMount != nil, "podInfoOnMount")
	required(spec.StorageCapacity != nil, "storageCapacity")
	if p := spec.FSGroupPolicy; p != nil && !containsValue(fsGroupPolicies, *p) {
		errs = append(errs, field.NotSupported(fldPath.Child("fsGroupPolicy"), *p, fsGroupPolicies))
	}
	errs = append(errs, tokenRequests(spec.TokenRequests, fldPath.Child("tokenRequests"))...)
	for _, m := range spec.VolumeLifecycleModes {
		if m != storagev1.VolumeLifecyclePersistent && m != storagev1.VolumeLifecycleEphemeral {
			errs = append(errs, field.NotSupported(fldPath.Child("volumeLifecycleModes"), m, volumeLifecycleModes))
		}
	}
	required(spec.SELinuxMount != nil, "seLinuxMount")
	if p := spec.NodeAllocatableUpdatePeriodSeconds; p != nil && *p < 10 {
		errs = append(errs, field.Invalid(fldPath.Child("nodeAllocatableUpdatePeriodSeconds"), *p, "must be greater than or equal to 10 seconds"))
	}
	if s := spec.ServiceAccountTokenInSecrets; s != nil && len(spec.TokenRequests) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("serviceAccountTokenInSecrets"), s, "serviceAccountTokenInSecrets is set but no tokenRequests are specified"))
	}
	required(spec.PreventPodSchedulingIfMissing != nil, "preventPodSchedulingIfMissing")
	return errs
}

// tokenRequests requires distinct audiences and expirations between ten
// minutes and 2^32 seconds.
func tokenRequests(list []storagev1.TokenRequest, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, tr := range list {
		p := fldPath.Index(i)
		if seen[tr.Audience] {
			errs = append(errs, field.Duplicate(p.Child("audience"), tr.Audience))
			continue
		}
		seen[tr.Audience] = true
		if tr.ExpirationSeconds == nil {
			continue
		}
		if *tr.ExpirationSeconds < minTokenRequestExpiry {
			errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *tr.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
		}
		if *tr.ExpirationSeconds > 1<<32 {
			errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *tr.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	return errs
}

// CSINode validates a CSINode on create: its name is a node name and each
// driver has a unique CSI name, a node ID and qualified topology keys.
func CSINode(n *storagev1.CSINode) field.ErrorList {
	errs := objectMeta(&n.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	fldPath := field.NewPath("spec", "drivers")
	names := map[string]bool{}
	for i, d := range n.Spec.Drivers {
		p := fldPath.Index(i)
		errs = append(errs, csiDriverName(d.Name, p.Child("name"))...)
		if d.NodeID == "" {
			errs = append(errs, field.Required(p.Child("nodeID"), ""))
		}
		if len(d.NodeID) > maxCSINodeIDLength {
			errs = append(errs, field.Invalid(p.Child("nodeID"), d.NodeID, fmt.Sprintf("must be %d characters or less", maxCSINodeIDLength)))
		}
		if a := d.Allocatable; a != nil && a.Count != nil {
			errs = append(errs, nonNegative(int64(*a.Count), p.Child("allocatable", "count"))...)
		}
		if names[d.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), d.Name))
		}
		names[d.Name] = true
		// Upstream reports topology key errors on the driver, not the key.
		keys := map[string]bool{}
		for _, k := range d.TopologyKeys {
			if k == "" {
				errs = append(errs, field.Required(p, ""))
			}
			if keys[k] {
				errs = append(errs, field.Duplicate(p, k))
			}
			keys[k] = true
			errs = append(errs, qualifiedName(k, p)...)
		}
	}
	return errs
}

// CSINodeUpdate validates a CSINode update: drivers may be added or
// removed, but a driver kept under the same name may change only its
// allocatable count. As upstream, the metadata update rules are left to
// the generic registry.
func CSINodeUpdate(n, old *storagev1.CSINode) field.ErrorList {
	errs := CSINode(n)
	for _, od := range old.Spec.Drivers {
		for _, nd := range n.Spec.Drivers {
			if od.Name != nd.Name {
				continue
			}
			a, b := nd, od
			a.Allocatable, b.Allocatable = nil, nil
			errs = append(errs, immutable(a, b, field.NewPath("spec", "drivers"))...)
		}
	}
	return errs
}
