package registry

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// keepMetadataOnStatus undoes what a status write did to the metadata (labels,
// annotations, finalizers, owners), for resources whose status subresource
// changes nothing but the status, as upstream's flow control and pod
// certificate request strategies do. Managed fields stay as the write left them.
func keepMetadataOnStatus(obj, old runtime.Object) {
	o, err1 := meta.Accessor(obj)
	p, err2 := meta.Accessor(old)
	if err1 != nil || err2 != nil {
		return
	}
	metav1.ResetObjectMetaForStatus(o, p)
}

// keepLabelsOnStatus keeps the labels a status write may not change, as
// upstream's Deployment status strategy does: a controller writing status
// from a stale copy must not undo a user's label change.
func keepLabelsOnStatus(obj, old runtime.Object) {
	o, err1 := meta.Accessor(obj)
	p, err2 := meta.Accessor(old)
	if err1 != nil || err2 != nil {
		return
	}
	o.SetLabels(p.GetLabels())
}
