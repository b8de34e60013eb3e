package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AddToScheme registers a defaulting function for every core/v1 object and
// list type that upstream Kubernetes defaults, so that s.Default, and every
// codec built from s, applies them. It never fails; the error result lets it
// sit in a runtime.SchemeBuilder.
func AddToScheme(s *runtime.Scheme) error {
	register(s, ConfigMap)
	register(s, Endpoints)
	register(s, LimitRange)
	register(s, Namespace)
	register(s, Node)
	register(s, PersistentVolume)
	register(s, PersistentVolumeClaim)
	register(s, Pod)
	register(s, PodTemplate)
	register(s, ReplicationController)
	register(s, ResourceQuota)
	register(s, Secret)
	register(s, Service)

	register(s, func(l *corev1.ConfigMapList) { eachItem(l.Items, ConfigMap) })
	register(s, func(l *corev1.EndpointsList) { eachItem(l.Items, Endpoints) })
	register(s, func(l *corev1.LimitRangeList) { eachItem(l.Items, LimitRange) })
	register(s, func(l *corev1.NamespaceList) { eachItem(l.Items, Namespace) })
	register(s, func(l *corev1.NodeList) { eachItem(l.Items, Node) })
	register(s, func(l *corev1.PersistentVolumeList) { eachItem(l.Items, PersistentVolume) })
	register(s, func(l *corev1.PersistentVolumeClaimList) { eachItem(l.Items, PersistentVolumeClaim) })
	register(s, func(l *corev1.PodList) { eachItem(l.Items, Pod) })
	register(s, func(l *corev1.PodTemplateList) { eachItem(l.Items, PodTemplate) })
	register(s, func(l *corev1.ReplicationControllerList) { eachItem(l.Items, ReplicationController) })
	register(s, func(l *corev1.ResourceQuotaList) { eachItem(l.Items, ResourceQuota) })
	register(s, func(l *corev1.SecretList) { eachItem(l.Items, Secret) })
	register(s, func(l *corev1.ServiceList) { eachItem(l.Items, Service) })
	return nil
}

// register adds fn as the defaulting function of T's concrete type in s.
func register[T interface {
	*E
	runtime.Object
}, E any](s *runtime.Scheme, fn func(T)) {
	s.AddTypeDefaultingFunc(T(new(E)), func(obj any) { fn(obj.(T)) })
}

// eachItem calls fn on a pointer to every element of items, in place.
func eachItem[E any](items []E, fn func(*E)) {
	for i := range items {
		fn(&items[i])
	}
}
