package validation

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// statefulSetOptions relaxes StatefulSet spec checks on update, for fields
// that are immutable and may hold values older servers accepted.
type statefulSetOptions struct {
	skipTemplate        bool // the old spec was invalid: tolerate its template
	allowInvalidService bool // serviceName is immutable; don't recheck it
	skipClaimTemplates  bool // volumeClaimTemplates are immutable; don't recheck them
}

// StatefulSet validates a StatefulSet on create. The name must be a DNS
// label because it prefixes pod host names.
func StatefulSet(ss *appsv1.StatefulSet) field.ErrorList {
	errs := objectMeta(&ss.ObjectMeta, true, apimachineryvalidation.NameIsDNSLabel)
	return append(errs, statefulSetSpec(&ss.Spec, statefulSetOptions{}, field.NewPath("spec"))...)
}

// StatefulSetUpdate validates a StatefulSet update. The selector,
// volumeClaimTemplates, serviceName and podManagementPolicy are immutable;
// replicas, template, updateStrategy, minReadySeconds, ordinals and the
// claim retention policy may change.
func StatefulSetUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	errs := objectMetaUpdate(&ss.ObjectMeta, &old.ObjectMeta)
	opts := statefulSetOptions{allowInvalidService: true, skipClaimTemplates: true}
	opts.skipTemplate = len(statefulSetSpec(&old.Spec, statefulSetOptions{}, nil)) > 0
	p := field.NewPath("spec")
	errs = append(errs, statefulSetSpec(&ss.Spec, opts, p)...)
	errs = append(errs, immutable(ss.Spec.Selector, old.Spec.Selector, p.Child("selector"))...)
	errs = append(errs, immutable(ss.Spec.VolumeClaimTemplates, old.Spec.VolumeClaimTemplates, p.Child("volumeClaimTemplates"))...)
	errs = append(errs, immutable(ss.Spec.ServiceName, old.Spec.ServiceName, p.Child("serviceName"))...)
	return append(errs, immutable(ss.Spec.PodManagementPolicy, old.Spec.PodManagementPolicy, p.Child("podManagementPolicy"))...)
}

// StatefulSetStatusUpdate validates a write to a StatefulSet's status.
func StatefulSetStatusUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	st, p := ss.Status, field.NewPath("status")
	errs := nonNegativeCounts(p,
		count{"replicas", int64(st.Replicas)},
		count{"readyReplicas", int64(st.ReadyReplicas)},
		count{"currentReplicas", int64(st.CurrentReplicas)},
		count{"updatedReplicas", int64(st.UpdatedReplicas)},
		count{"availableReplicas", int64(st.AvailableReplicas)},
		count{"observedGeneration", st.ObservedGeneration})
	errs = append(errs, optNonNegative(st.CollisionCount, p.Child("collisionCount"))...)
	errs = append(errs, notAbove(st.ReadyReplicas, st.Replicas, notAboveReplicasMsg, p.Child("readyReplicas"))...)
	errs = append(errs, notAbove(st.CurrentReplicas, st.Replicas, notAboveReplicasMsg, p.Child("currentReplicas"))...)
	errs = append(errs, notAbove(st.UpdatedReplicas, st.Replicas, notAboveReplicasMsg, p.Child("updatedReplicas"))...)
	errs = append(errs, notAbove(st.AvailableReplicas, st.Replicas, notAboveReplicasMsg, p.Child("availableReplicas"))...)
	errs = append(errs, notAbove(st.AvailableReplicas, st.ReadyReplicas, "cannot be greater than status.readyReplicas", p.Child("availableReplicas"))...)
	errs = append(errs, objectMetaUpdate(&ss.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, collisionCountUpdate(st.CollisionCount, old.Status.CollisionCount, p.Child("collisionCount"))...)
}

// statefulSetSpec validates a StatefulSet spec.
func statefulSetSpec(spec *appsv1.StatefulSetSpec, opts statefulSetOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(fldPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(fldPath.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	errs = append(errs, statefulSetStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if rp := spec.PersistentVolumeClaimRetentionPolicy; rp != nil {
		p := fldPath.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, claimRetention(rp.WhenDeleted, p.Child("whenDeleted"))...)
		errs = append(errs, claimRetention(rp.WhenScaled, p.Child("whenScaled"))...)
	}
	if !opts.skipClaimTemplates {
		for i := range spec.VolumeClaimTemplates {
			errs = append(errs, pvcSpec(&spec.VolumeClaimTemplates[i].Spec, fldPath.Child("volumeClaimTemplates").Index(i).Child("spec"))...)
		}
	}
	errs = append(errs, nonNegative(int64(deref32(spec.Replicas)), fldPath.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(int64(spec.Ordinals.Start), fldPath.Child("ordinals.start"))...)
	}
	if !opts.allowInvalidService && spec.ServiceName != "" {
		errs = append(errs, dnsLabel(spec.ServiceName, fldPath.Child("serviceName"))...)
	}
	sel, sErrs := workloadSelector(spec.Selector, "statefulset", fldPath.Child("selector"))
	errs = append(errs, sErrs...)
	if sel != nil {
		tp := fldPath.Child("template")
		t := statefulSetTemplate(spec)
		if !sel.Empty() && !sel.Matches(labelSet(t.Labels)) {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, selectorMismatchMsg))
		}
		if !opts.skipTemplate {
			errs = append(errs, PodTemplateSpec(t, tp)...)
		}
		// Upstream checks the template labels and annotations a second time.
		errs = append(errs, metav1validation.ValidateLabels(t.Labels, tp.Child("labels"))...)
		errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, tp.Child("annotations"))...)
	}
	return append(errs, restartAlways(&spec.Template.Spec, "StatefulSet", fldPath.Child("template", "spec"))...)
}

// statefulSetTemplate returns the pod template as the StatefulSet
// controller will stamp it: hostname and subdomain are set per pod, and
// each volume claim template becomes a claim volume of the same name.
func statefulSetTemplate(spec *appsv1.StatefulSetSpec) *corev1.PodTemplateSpec {
	t := &spec.Template
	if t.Spec.Subdomain == "" && t.Spec.Hostname == "" && len(spec.VolumeClaimTemplates) == 0 {
		return t
	}
	t = t.DeepCopy()
	t.Spec.Subdomain, t.Spec.Hostname = "", ""
	if len(spec.VolumeClaimTemplates) == 0 {
		return t
	}
	claims := map[string]bool{}
	var vols []corev1.Volume
	for _, c := range spec.VolumeClaimTemplates {
		if claims[c.Name] {
			continue
		}
		claims[c.Name] = true
		vols = append(vols, corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name},
		}})
	}
	for _, v := range t.Spec.Volumes {
		if !claims[v.Name] {
			vols = append(vols, v)
		}
	}
	t.Spec.Volumes = vols
	return t
}

// statefulSetStrategy validates the update strategy. The alpha Recreate
// strategy (feature gate StatefulSetRecreateStrategy, off by default) is
// not accepted.
func statefulSetStrategy(s *appsv1.StatefulSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	case appsv1.OnDeleteStatefulSetStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Invalid(fldPath.Child("rollingUpdate"), s.RollingUpdate, "only allowed for updateStrategy 'RollingUpdate'")}
		}
		return nil
	case appsv1.RollingUpdateStatefulSetStrategyType:
		ru := s.RollingUpdate
		if ru == nil {
			return nil
		}
		p := fldPath.Child("rollingUpdate")
		errs := nonNegative(int64(deref32(ru.Partition)), p.Child("partition"))
		if mu := ru.MaxUnavailable; mu != nil {
			mp := p.Child("maxUnavailable")
			errs = append(errs, intOrPercent(mu, mp)...)
			if intOrPercentValue(mu) == 0 {
				errs = append(errs, field.Invalid(mp, *mu, "cannot be 0"))
			}
			errs = append(errs, notAbove100Percent(mu, mp)...)
		}
		return errs
	}
	return field.ErrorList{field.Invalid(fldPath, *s, "must be 'RollingUpdate' or 'OnDelete'")}
}

// claimRetention checks a PVC retention policy value.
func claimRetention(t appsv1.PersistentVolumeClaimRetentionPolicyType, fldPath *field.Path) field.ErrorList {
	if t == appsv1.RetainPersistentVolumeClaimRetentionPolicyType || t == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, t, []string{string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)})}
}
