package validation

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/diff"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// updatablePodSpecFields names what a pod update may change, in the words
// of the upstream error message.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// Pod validates a pod on create: metadata (DNS subdomain name, namespace
// required), the full pod spec, and the pod-only rules.
func Pod(pod *corev1.Pod) field.ErrorList {
	errs := podMetaAndSpec(pod)
	specPath := field.NewPath("spec")
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

// podMetaAndSpec is the part of pod validation shared by create and update.
func podMetaAndSpec(pod *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := objectMeta(&pod.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, podSpec(&pod.Spec, &pod.ObjectMeta, true, specPath)...)
	if pod.Spec.ServiceAccountName == "" {
		for i, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for j, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					p := specPath.Child("volumes").Index(i).Child("projected", "sources").Index(j).Child("serviceAccountToken")
					errs = append(errs, field.Forbidden(p, "must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		errs = append(errs, nonNegative(*g, specPath.Child("terminationGracePeriodSeconds"))...)
	}
	errs = append(errs, imageWhitespace(pod.Spec.Containers, specPath.Child("containers"))...)
	return append(errs, imageWhitespace(pod.Spec.InitContainers, specPath.Child("initContainers"))...)
}

// PodUpdate validates a pod update. Only container and init container
// images, activeDeadlineSeconds (set, or lowered), added tolerations (and
// changed tolerationSeconds), removed scheduling gates, and a negative grace
// period raised to 1 may change; any other spec change is Forbidden at spec.
func PodUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := objectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, podMetaAndSpec(pod)...)
	specPath := field.NewPath("spec")
	for _, l := range []struct {
		newList, oldList []corev1.Container
		name             string
	}{{pod.Spec.Containers, old.Spec.Containers, "containers"}, {pod.Spec.InitContainers, old.Spec.InitContainers, "initContainers"}} {
		if len(l.newList) != len(l.oldList) {
			return append(errs, field.Forbidden(specPath.Child(l.name), "pod updates may not add or remove containers"))
		}
		for i, c := range l.newList {
			if c.Image == "" {
				errs = append(errs, field.Required(specPath.Child(l.name).Index(i).Child("image"), ""))
			}
		}
		errs = append(errs, imageWhitespace(l.newList, specPath.Child(l.name))...)
	}
	adsPath := specPath.Child("activeDeadlineSeconds")
	if n := pod.Spec.ActiveDeadlineSeconds; n != nil {
		if *n < 0 || *n > math.MaxInt32 {
			return append(errs, field.Invalid(adsPath, *n, inRangeMsg(0, math.MaxInt32)))
		}
		if o := old.Spec.ActiveDeadlineSeconds; o != nil && *o < *n {
			return append(errs, field.Invalid(adsPath, *n, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(adsPath, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, onlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, onlyRemovedGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	if apiequality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return errs
	}
	munged := mungePodSpec(pod.Spec.DeepCopy(), &old.Spec)
	if !apiequality.Semantic.DeepEqual(*munged, old.Spec) {
		d := diff.Diff(old.Spec, *munged)
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(updatablePodSpecFields, ","), d)))
	}
	return errs
}

// mungePodSpec copies the updatable fields of old into spec so that what
// remains different is exactly what may not change.
func mungePodSpec(spec, old *corev1.PodSpec) *corev1.PodSpec {
	for i := range spec.Containers {
		spec.Containers[i].Image = old.Containers[i].Image
	}
	for i := range spec.InitContainers {
		spec.InitContainers[i].Image = old.InitContainers[i].Image
	}
	spec.ActiveDeadlineSeconds = old.ActiveDeadlineSeconds
	spec.SchedulingGates = old.SchedulingGates
	spec.Tolerations = old.Tolerations
	if g, og := spec.TerminationGracePeriodSeconds, old.TerminationGracePeriodSeconds; og != nil && *og < 0 && g != nil && *g == 1 {
		spec.TerminationGracePeriodSeconds = og
	}
	if len(old.SchedulingGates) > 0 && isMapSuperset(spec.NodeSelector, old.NodeSelector) {
		// Gated pods may gain node selector entries before scheduling.
		spec.NodeSelector = old.NodeSelector
	}
	return spec
}

// isMapSuperset reports whether every entry of sub is in m.
func isMapSuperset(m, sub map[string]string) bool {
	for k, v := range sub {
		if mv, ok := m[k]; !ok || mv != v {
			return false
		}
	}
	return true
}

// onlyAddedTolerations forbids removing or changing existing tolerations
// (other than their tolerationSeconds) and validates the new list.
func onlyAddedTolerations(list, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, n := range list {
			oc := o
			oc.TolerationSeconds = n.TolerationSeconds
			if reflect.DeepEqual(oc, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return tolerations(list, fldPath)
}

// onlyRemovedGates forbids adding scheduling gates on update.
func onlyRemovedGates(list, old []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	existing := map[string]bool{}
	for _, g := range old {
		existing[g.Name] = true
	}
	var errs field.ErrorList
	for i, g := range list {
		if !existing[g.Name] {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// PodStatusUpdate validates a write to pods/status: metadata update rules,
// conditions, nodeName unchanged, nominatedNodeName, immutable qosClass and
// well-formed pod and host IPs.
func PodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := objectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta)
	st := field.NewPath("status")
	system := map[corev1.PodConditionType]bool{corev1.PodScheduled: true, corev1.PodReady: true, corev1.PodInitialized: true}
	for i, c := range pod.Status.Conditions {
		if c.ObservedGeneration < 0 {
			errs = append(errs, field.Invalid(st.Child("conditions").Index(i).Child("observedGeneration"), c.ObservedGeneration, "must be a non-negative integer"))
		}
		if !system[c.Type] {
			errs = append(errs, qualifiedName(string(c.Type), st.Child("conditions").Index(i).Child("Type"))...)
		}
	}
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(st.Child("nodeName"), "may not be changed directly"))
	}
	if n := pod.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, n, st.Child("nominatedNodeName"))...)
		if old.Spec.NodeName != "" {
			errs = append(errs, field.Forbidden(st.Child("nominatedNodeName"), "may not be set on pods that are already bound to a node"))
		}
	}
	if pod.Status.ObservedGeneration < 0 {
		errs = append(errs, field.Invalid(st.Child("observedGeneration"), pod.Status.ObservedGeneration, "must be a non-negative integer"))
	}
	errs = append(errs, immutable(pod.Status.QOSClass, old.Status.QOSClass, st.Child("qosClass"))...)
	errs = append(errs, statusIPs(pod.Status.PodIP, podIPStrings(pod.Status.PodIPs), podIPStrings(old.Status.PodIPs), "podIP", st.Child("podIPs"))...)
	return append(errs, statusIPs(pod.Status.HostIP, podIPStrings(pod.Status.HostIPs), podIPStrings(old.Status.HostIPs), "hostIP", st.Child("hostIPs"))...)
}

// statusIPs checks a podIPs/hostIPs list: valid IPs (existing invalid ones
// are tolerated), at most one per family, and agreement with the singular
// field named single.
func statusIPs(primary string, ips, old []string, single string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, utilvalidation.IsValidIPForLegacyField(fldPath.Index(i), ip, true, old)...)
	}
	if len(ips) > 1 {
		v4, v6 := 0, 0
		for _, ip := range ips {
			if strings.Contains(ip, ":") {
				v6++
			} else {
				v4++
			}
		}
		if len(ips) > 2 || v4 > 1 || v6 > 1 {
			errs = append(errs, field.Invalid(fldPath, ips, "may specify no more than one IP for each IP family"))
		}
	}
	switch {
	case (primary != "") != (len(ips) > 0):
		errs = append(errs, field.Invalid(fldPath, ips, fmt.Sprintf("%s and %ss must either both be set or both be unset", single, single)))
	case len(ips) > 0 && primary != ips[0]:
		errs = append(errs, field.Invalid(fldPath.Index(0).Child("ip"), ips[0], fmt.Sprintf("must be equal to `%s`", single)))
	}
	return errs
}

// podIPStrings flattens a list of pod or host IPs.
func podIPStrings[T corev1.PodIP | corev1.HostIP](list []T) []string {
	out := make([]string, len(list))
	for i, ip := range list {
		out[i] = corev1.PodIP(ip).IP
	}
	return out
}

// Binding validates a pods/binding request: the target must be a Node with a
// valid name.
func Binding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	kind := b.Target.Kind
	if kind != "" && kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	} else if kind == "" || kind == "Node" {
		errs = append(errs, objectName(apimachineryvalidation.NameIsDNSSubdomain, b.Target.Name, field.NewPath("target", "name"))...)
	}
	return errs
}
