package validation

import (
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RuntimeClass validates a RuntimeClass on create: a DNS-label handler,
// pod overhead checked like container limits, and scheduling constraints.
func RuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	errs := objectMeta(&rc.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	if rc.Handler == "" {
		errs = append(errs, field.Required(field.NewPath("handler"), ""))
	} else {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSLabel, rc.Handler, field.NewPath("handler"))...)
	}
	if rc.Overhead != nil {
		// Upstream reuses the container check, so paths read overhead.limits[name].
		errs = append(errs, resourceRequirements(&corev1.ResourceRequirements{Limits: rc.Overhead.PodFixed}, nil, field.NewPath("overhead"))...)
	}
	if s := rc.Scheduling; s != nil {
		p := field.NewPath("scheduling")
		errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, p.Child("nodeSelector"))...)
		errs = append(errs, tolerations(s.Tolerations, p.Child("tolerations"))...)
		seen := map[corev1.Toleration]bool{}
		for i, t := range s.Tolerations {
			key := corev1.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect}
			if seen[key] {
				errs = append(errs, field.Duplicate(p.Child("tolerations").Index(i), t))
			}
			seen[key] = true
		}
	}
	return errs
}

// RuntimeClassUpdate validates a RuntimeClass update: the whole object as
// on create (metadata included, as upstream's strategy does), then the
// metadata update rules and the immutable handler.
func RuntimeClassUpdate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	errs := RuntimeClass(rc)
	errs = append(errs, objectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, immutable(rc.Handler, old.Handler, field.NewPath("handler"))...)
}
