package registry

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// prepareStatefulSet drops apiVersion and kind from the volume claim templates:
// upstream's conversion to its internal types never keeps them, so clients that
// send them (Helm) and clients that do not see the same stored templates, and an
// update that repeats them changes nothing.
func prepareStatefulSet(_ context.Context, obj runtime.Object) {
	ss := obj.(*appsv1.StatefulSet)
	for i := range ss.Spec.VolumeClaimTemplates {
		ss.Spec.VolumeClaimTemplates[i].TypeMeta = metav1.TypeMeta{}
	}
}

func prepareStatefulSetUpdate(obj, _ runtime.Object) {
	prepareStatefulSet(context.Background(), obj)
}
