package table

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

// Annotations that mark a StorageClass as the cluster default.
const (
	defaultStorageClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultStorageClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

// StorageClasses returns the table convertor for storage classes: Name,
// Provisioner, ReclaimPolicy, VolumeBindingMode, AllowVolumeExpansion, Age.
//
// In a list, the name of the effective default class gets " (default)": of
// the classes annotated as default, the one created last, and on a tie the
// first by name. A single class never gets the suffix. ReclaimPolicy and
// VolumeBindingMode show their defaults (Delete, Immediate) when unset;
// AllowVolumeExpansion holds a bool.
func StorageClasses() rest.TableConvertor {
	sc := storagev1.StorageClass{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Provisioner", sc["provisioner"]),
		column("ReclaimPolicy", sc["reclaimPolicy"]),
		column("VolumeBindingMode", sc["volumeBindingMode"]),
		column("AllowVolumeExpansion", sc["allowVolumeExpansion"]),
		ageColumn(),
	}
	c := newConvertor(columns, storageClassRow(""))
	c.listRow = func(items []runtime.Object) rowFunc {
		return storageClassRow(effectiveDefaultStorageClass(items))
	}
	return c
}

// storageClassRow builds rows that mark the class named defaultName, if any,
// as the default.
func storageClassRow(defaultName string) rowFunc {
	return cells(func(sc *storagev1.StorageClass, now time.Time) []interface{} {
		name := sc.Name
		if defaultName != "" && name == defaultName {
			name += " (default)"
		}
		return []interface{}{
			name,
			sc.Provisioner,
			string(ptr.Deref(sc.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete)),
			string(ptr.Deref(sc.VolumeBindingMode, storagev1.VolumeBindingImmediate)),
			ptr.Deref(sc.AllowVolumeExpansion, false),
			age(sc.CreationTimestamp, now),
		}
	})
}

// effectiveDefaultStorageClass names the default class among items, or
// returns "" if none is annotated as default.
func effectiveDefaultStorageClass(items []runtime.Object) string {
	var best *storagev1.StorageClass
	for _, item := range items {
		sc, ok := item.(*storagev1.StorageClass)
		if !ok || (sc.Annotations[defaultStorageClassAnnotation] != "true" && sc.Annotations[betaDefaultStorageClassAnnotation] != "true") {
			continue
		}
		switch {
		case best == nil,
			sc.CreationTimestamp.After(best.CreationTimestamp.Time),
			sc.CreationTimestamp.Equal(&best.CreationTimestamp) && sc.Name < best.Name:
			best = sc
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}

// CSIDrivers returns the table convertor for CSI drivers: Name,
// AttachRequired, PodInfoOnMount, StorageCapacity, TokenRequests,
// RequiresRepublish, Modes, Age.
//
// The boolean cells hold bools, unset ones their defaults (AttachRequired
// true, the others false). TokenRequests lists the audiences, "<unset>"
// without token requests; Modes lists the volume lifecycle modes or "<none>".
func CSIDrivers() rest.TableConvertor {
	spec := storagev1.CSIDriverSpec{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("AttachRequired", spec["attachRequired"]), "boolean"),
		typed(column("PodInfoOnMount", spec["podInfoOnMount"]), "boolean"),
		typed(column("StorageCapacity", spec["storageCapacity"]), "boolean"),
		column("TokenRequests", spec["tokenRequests"]),
		typed(column("RequiresRepublish", spec["requiresRepublish"]), "boolean"),
		column("Modes", spec["volumeLifecycleModes"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(csiDriverCells))
}

func csiDriverCells(d *storagev1.CSIDriver, now time.Time) []interface{} {
	tokens := "<unset>"
	if d.Spec.TokenRequests != nil {
		audiences := make([]string, len(d.Spec.TokenRequests))
		for i, tr := range d.Spec.TokenRequests {
			audiences[i] = tr.Audience
		}
		tokens = strings.Join(audiences, ",")
	}
	modes := make([]string, len(d.Spec.VolumeLifecycleModes))
	for i, m := range d.Spec.VolumeLifecycleModes {
		modes[i] = string(m)
	}
	return []interface{}{
		d.Name,
		ptr.Deref(d.Spec.AttachRequired, true),
		ptr.Deref(d.Spec.PodInfoOnMount, false),
		ptr.Deref(d.Spec.StorageCapacity, false),
		tokens,
		ptr.Deref(d.Spec.RequiresRepublish, false),
		orNone(strings.Join(modes, ",")),
		age(d.CreationTimestamp, now),
	}
}

// CSINodes returns the table convertor for CSI nodes: Name, Drivers (how
// many drivers are registered on the node), Age.
func CSINodes() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("Drivers", "Drivers indicates the number of CSI drivers registered on the node"), "integer"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(n *storagev1.CSINode, now time.Time) []interface{} {
		return []interface{}{n.Name, int64(len(n.Spec.Drivers)), age(n.CreationTimestamp, now)}
	}))
}

// VolumeAttachments returns the table convertor for volume attachments:
// Name, Attacher, PV, Node, Attached, Age.
//
// PV is empty for inline volumes; Attached holds a bool. Like upstream, the
// Attacher column carries the "name" format.
func VolumeAttachments() rest.TableConvertor {
	spec := storagev1.VolumeAttachmentSpec{}.SwaggerDoc()
	attacher := column("Attacher", spec["attacher"])
	attacher.Format = "name"
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		attacher,
		column("PV", storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]),
		column("Node", spec["nodeName"]),
		typed(column("Attached", storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]), "boolean"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(va *storagev1.VolumeAttachment, now time.Time) []interface{} {
		return []interface{}{
			va.Name,
			va.Spec.Attacher,
			ptr.Deref(va.Spec.Source.PersistentVolumeName, ""),
			va.Spec.NodeName,
			va.Status.Attached,
			age(va.CreationTimestamp, now),
		}
	}))
}

// VolumeAttributesClasses returns the table convertor for volume attributes
// classes: Name, DriverName, Age.
func VolumeAttributesClasses() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("DriverName", storagev1.VolumeAttributesClass{}.SwaggerDoc()["driverName"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(c *storagev1.VolumeAttributesClass, now time.Time) []interface{} {
		return []interface{}{c.Name, c.DriverName, age(c.CreationTimestamp, now)}
	}))
}

// CSIStorageCapacities returns the table convertor for CSI storage
// capacities: Name, StorageClassName, Capacity ("<unset>" when the driver
// reported none). Like upstream, it has no Age column.
func CSIStorageCapacities() rest.TableConvertor {
	doc := storagev1.CSIStorageCapacity{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("StorageClassName", doc["storageClassName"]),
		column("Capacity", doc["capacity"]),
	}
	return newConvertor(columns, cells(func(c *storagev1.CSIStorageCapacity, now time.Time) []interface{} {
		capacity := "<unset>"
		if c.Capacity != nil {
			capacity = c.Capacity.String()
		}
		return []interface{}{c.Name, c.StorageClassName, capacity}
	}))
}
