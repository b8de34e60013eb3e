package limitranger

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	resourcehelper "k8s.io/component-helpers/resource"
)

// defaults returns the requirements a LimitRange's Container items give a
// container that sets none: default becomes the limits, defaultRequest the
// requests. A later item overrides an earlier one for the same resource.
func defaults(lr *corev1.LimitRange) corev1.ResourceRequirements {
	req := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		for name, q := range item.DefaultRequest {
			req.Requests[name] = q.DeepCopy()
		}
		for name, q := range item.Default {
			req.Limits[name] = q.DeepCopy()
		}
	}
	return req
}

// applyDefaults fills every container's and init container's missing requests
// and limits from def, and records what it set in the pod's limit-ranger
// annotation, in upstream's words.
func applyDefaults(pod *corev1.Pod, def corev1.ResourceRequirements) {
	var notes []string
	for i := range pod.Spec.Containers {
		notes = append(notes, fillContainer(&pod.Spec.Containers[i], def, "container")...)
	}
	for i := range pod.Spec.InitContainers {
		notes = append(notes, fillContainer(&pod.Spec.InitContainers[i], def, "init container")...)
	}
	if len(notes) == 0 {
		return
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[Annotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
}

// fillContainer sets the resources of def that c lacks and describes them:
// "cpu, memory request for container app", then "cpu limit for container app".
func fillContainer(c *corev1.Container, def corev1.ResourceRequirements, kind string) []string {
	if c.Resources.Limits == nil {
		c.Resources.Limits = corev1.ResourceList{}
	}
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	setRequests := fill(c.Resources.Requests, def.Requests)
	setLimits := fill(c.Resources.Limits, def.Limits)
	var notes []string
	if len(setRequests) > 0 {
		notes = append(notes, fmt.Sprintf("%s request for %s %s", strings.Join(setRequests, ", "), kind, c.Name))
	}
	if len(setLimits) > 0 {
		notes = append(notes, fmt.Sprintf("%s limit for %s %s", strings.Join(setLimits, ", "), kind, c.Name))
	}
	return notes
}

// fill copies into list the resources of from that list lacks and returns
// their names, sorted.
func fill(list, from corev1.ResourceList) []string {
	var set []string
	for name, q := range from {
		if _, ok := list[name]; ok {
			continue
		}
		list[name] = q.DeepCopy()
		set = append(set, string(name))
	}
	slices.Sort(set)
	return set
}

// checkPod enforces the Container items of lr on each container and init
// container, and its Pod items on the pod's total requests and limits
// (pod-level resources where set, overhead excluded).
func checkPod(lr *corev1.LimitRange, pod *corev1.Pod) error {
	var errs []error
	for _, item := range lr.Spec.Limits {
		switch item.Type {
		case corev1.LimitTypeContainer:
			for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
				for i := range list {
					r := &list[i].Resources
					errs = append(errs, checkItem(item, r.Requests, r.Limits)...)
				}
			}
		case corev1.LimitTypePod:
			opts := resourcehelper.PodResourcesOptions{ExcludeOverhead: true}
			errs = append(errs, checkItem(item, resourcehelper.PodRequests(pod, opts), resourcehelper.PodLimits(pod, opts))...)
		}
	}
	return utilerrors.NewAggregate(errs)
}

// checkPersistentVolumeClaim enforces the PersistentVolumeClaim items of lr
// on the claim's requests; a claim's limits are not the user's ask, so max
// applies to the request.
func checkPersistentVolumeClaim(lr *corev1.LimitRange, pvc *corev1.PersistentVolumeClaim) error {
	var errs []error
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypePersistentVolumeClaim {
			continue
		}
		requests := pvc.Spec.Resources.Requests
		for _, name := range sortedNames(item.Min) {
			if err := checkMin(item.Type, name, item.Min[name], requests, nil); err != nil {
				errs = append(errs, err)
			}
		}
		for _, name := range sortedNames(item.Max) {
			if err := checkMaxRequest(item.Type, name, item.Max[name], requests); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return utilerrors.NewAggregate(errs)
}

// checkItem applies one item's min, max and maxLimitRequestRatio to requests
// and limits, resources in name order.
func checkItem(item corev1.LimitRangeItem, requests, limits corev1.ResourceList) []error {
	var errs []error
	for _, name := range sortedNames(item.Min) {
		if err := checkMin(item.Type, name, item.Min[name], requests, limits); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range sortedNames(item.Max) {
		if err := checkMax(item.Type, name, item.Max[name], requests, limits); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range sortedNames(item.MaxLimitRequestRatio) {
		if err := checkRatio(item.Type, name, item.MaxLimitRequestRatio[name], requests, limits); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func sortedNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for name := range list {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// atOneScale returns the three quantities as integers of one scale:
// thousandths where none would overflow, whole units otherwise.
func atOneScale(request, limit, bound resource.Quantity) (int64, int64, int64) {
	r, l, b := request.Value(), limit.Value(), bound.Value()
	if r <= resource.MaxMilliValue && l <= resource.MaxMilliValue && b <= resource.MaxMilliValue {
		return request.MilliValue(), limit.MilliValue(), bound.MilliValue()
	}
	return r, l, b
}

// checkMin: a request is required and, like the limit if there is one, must
// be at least min.
func checkMin(kind corev1.LimitType, name corev1.ResourceName, min resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, m := atOneScale(req, lim, min)
	switch {
	case !hasReq:
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", name, kind, min.String())
	case r < m:
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", name, kind, min.String(), req.String())
	case hasLim && l < m:
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", name, kind, min.String(), lim.String())
	}
	return nil
}

// checkMax: a limit is required and, like the request if there is one, must
// be at most max.
func checkMax(kind corev1.LimitType, name corev1.ResourceName, max resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, m := atOneScale(req, lim, max)
	switch {
	case !hasLim:
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", name, kind, max.String())
	case l > m:
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", name, kind, max.String(), lim.String())
	case hasReq && r > m:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, kind, max.String(), req.String())
	}
	return nil
}

// checkMaxRequest is checkMax for kinds without limits: the request is
// required and must be at most max.
func checkMaxRequest(kind corev1.LimitType, name corev1.ResourceName, max resource.Quantity, requests corev1.ResourceList) error {
	req, hasReq := requests[name]
	r, _, m := atOneScale(req, resource.Quantity{}, max)
	switch {
	case !hasReq:
		return fmt.Errorf("maximum %s usage per %s is %s.  No request is specified", name, kind, max.String())
	case r > m:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, kind, max.String(), req.String())
	}
	return nil
}

// checkRatio: both request and limit are required, non-zero, and the limit
// is at most ratio times the request.
func checkRatio(kind corev1.LimitType, name corev1.ResourceName, ratio resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, _ := atOneScale(req, lim, ratio)
	if !hasReq || r == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", name, kind, ratio.String())
	}
	if !hasLim || l == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", name, kind, ratio.String())
	}
	observed := float64(l) / float64(r)
	got, bound := observed, float64(ratio.Value())
	if ratio.Value() <= resource.MaxMilliValue {
		got, bound = observed*1000, float64(ratio.MilliValue())
	}
	if got > bound {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", name, kind, ratio.String(), observed)
	}
	return nil
}
