package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Secret defaults a secret: type Opaque when unset, and stringData merged
// over data and dropped, as upstream's conversion from v1 does on every
// write (stringData is write-only: it is never stored or read back).
func Secret(s *corev1.Secret) {
	setIfEmpty(&s.Type, corev1.SecretTypeOpaque)
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// ConfigMap defaults a config map: a nil data map becomes an empty one.
func ConfigMap(cm *corev1.ConfigMap) {
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
}
