package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Namespace defaults a namespace: status.phase Active and, for a namespace
// that has a name, the label kubernetes.io/metadata.name set to that name
// (overwriting any other value, so the label can be trusted in selectors).
// A namespace created with only generateName gets the label later, when the
// registry names it.
func Namespace(ns *corev1.Namespace) {
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	setIfEmpty(&ns.Status.Phase, corev1.NamespaceActive)
}
