package nodeagent

import (
	"fmt"
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// packedPod is what a Host's cache keeps of a bound pod: the few fields it
// indexes and dispatches by, and the whole pod in its protobuf encoding,
// decoded when an agent syncs the pod. A pod decoded in memory takes 3-5
// times its encoding (maps, pointers, quantities, times); with a hundred
// thousand pods in one process that is most of the host's memory.
type packedPod struct {
	namespace, name, node string
	uid                   types.UID
	resourceVersion       string
	// brief is the pod's podBrief without its key and UID (those above).
	brief podBrief
	// data is the pod's protobuf encoding, managedFields left out.
	data []byte
}

// packPod is the host's pod informer's transform: a *corev1.Pod becomes a
// *packedPod; anything else (an object packed already) stays as it is.
func packPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	pod.ManagedFields = nil
	b := briefOf(pod)
	data, err := pod.Marshal()
	if err != nil {
		return nil, fmt.Errorf("pack pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return &packedPod{
		// Namespaces and node names repeat across pods: one copy each.
		namespace:       unique.Make(pod.Namespace).Value(),
		name:            pod.Name,
		node:            unique.Make(pod.Spec.NodeName).Value(),
		uid:             pod.UID,
		resourceVersion: pod.ResourceVersion,
		brief:           podBrief{finished: b.finished, hasRun: b.hasRun, usage: b.usage},
		data:            data,
	}, nil
}

// unpack decodes the pod. Each call returns a pod of its own.
func (p *packedPod) unpack() (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := pod.Unmarshal(p.data); err != nil {
		return nil, fmt.Errorf("unpack pod %s/%s: %w", p.namespace, p.name, err)
	}
	return pod, nil
}

// GetObjectMeta makes packedPod a metav1.ObjectMetaAccessor, so that the
// informer's key and index functions (meta.Accessor) read its name.
func (p *packedPod) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: p.namespace, Name: p.name, UID: p.uid, ResourceVersion: p.resourceVersion}
}

// packedOf returns the packed pod of an informer's object or tombstone.
func packedOf(obj any) (*packedPod, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*packedPod)
	return p, ok
}
