package defaults

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
)

// ReplicationController defaults a replication controller: replicas 1; when
// the template has labels, an empty selector and empty object labels are both
// taken from the template's labels; and the template as in PodTemplateSpec.
func ReplicationController(rc *corev1.ReplicationController) {
	spec := &rc.Spec
	if spec.Template != nil && spec.Template.Labels != nil {
		if len(spec.Selector) == 0 {
			spec.Selector = maps.Clone(spec.Template.Labels)
		}
		if len(rc.Labels) == 0 {
			rc.Labels = maps.Clone(spec.Template.Labels)
		}
	}
	setIfNil(&spec.Replicas, int32(1))
	if spec.Template != nil {
		PodTemplateSpec(spec.Template)
	}
}
