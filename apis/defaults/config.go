package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Secret defaults a secret: type Opaque when unset.
func Secret(s *corev1.Secret) {
	setIfEmpty(&s.Type, corev1.SecretTypeOpaque)
}

// ConfigMap defaults a config map: a nil data map becomes an empty one.
func ConfigMap(cm *corev1.ConfigMap) {
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
}
