package resourcequota

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/utils/clock"
)

var podCount = generic.ObjectCountQuotaResourceNameFor(corev1.SchemeGroupVersion.WithResource("pods").GroupResource())

// podResources are the quota resources a pod counts against by name; the
// hugepages prefixes and extended resources (requests.<domain>/<name>) are
// matched by podMatching too.
var podResources = []corev1.ResourceName{
	podCount, corev1.ResourcePods,
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
}

// deviceClassRequests prefixes the quota names of requests for a DRA device
// class's extended resource.
const deviceClassRequests = corev1.DefaultResourceRequestsPrefix + "deviceclass.resource.kubernetes.io/"

// constrained are the resources that, when a quota limits them, every
// container of a new pod must state.
var constrained = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
}

// podEvaluator counts pods: count/pods always, and pods and compute
// resources while the pod is not terminal.
func podEvaluator(list generic.ListFuncByNamespace, clk clock.PassiveClock) *evaluator {
	return &evaluator{
		resource:    corev1.SchemeGroupVersion.WithResource("pods").GroupResource(),
		list:        list,
		matching:    podMatching,
		usage:       func(obj runtime.Object) (corev1.ResourceList, error) { return podUsage(obj, clk) },
		handles:     podHandles,
		scope:       podScope,
		constraints: podConstraints,
	}
}

func asPod(obj runtime.Object) (*corev1.Pod, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("expect *v1.Pod, got %T", obj)
	}
	return pod, nil
}

func podMatching(in []corev1.ResourceName) []corev1.ResourceName {
	out := quota.Intersection(in, podResources)
	for _, name := range in {
		s := string(name)
		if strings.HasPrefix(s, corev1.ResourceHugePagesPrefix) || strings.HasPrefix(s, corev1.ResourceRequestsHugePagesPrefix) ||
			quotaExtended(name) {
			out = append(out, name)
		}
	}
	return out
}

// quotaExtended reports whether name is the quota name of an extended
// resource request: requests.<domain>/<name> outside kubernetes.io, or of a
// DRA device class.
func quotaExtended(name corev1.ResourceName) bool {
	s := string(name)
	if !strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return strings.HasPrefix(s, deviceClassRequests) || !native(name)
}

// native reports whether a resource name is in the kubernetes.io domain
// (unprefixed names are).
func native(name corev1.ResourceName) bool {
	s := string(name)
	return !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix)
}

// extended reports whether a container resource name is an extended
// resource: outside kubernetes.io, or a DRA device class's.
func extended(name corev1.ResourceName) bool {
	s := string(name)
	if strings.HasPrefix(s, "deviceclass.resource.kubernetes.io/") {
		return true
	}
	return !native(name) && !strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix)
}

// podHandles: creating a pod, resizing it, and updates that make it
// (non-)terminating change usage.
func podHandles(a admission.Attributes) bool {
	op := a.GetOperation()
	switch a.GetSubresource() {
	case "":
		if op == admission.Update {
			pod, err1 := asPod(a.GetObject())
			old, err2 := asPod(a.GetOldObject())
			return err1 == nil && err2 == nil && terminating(pod) != terminating(old)
		}
		return op == admission.Create
	case "resize":
		return op == admission.Update
	}
	return false
}

// podScope reports whether the pod is in the scope of s.
func podScope(s corev1.ScopedResourceSelectorRequirement, obj runtime.Object) (bool, error) {
	pod, err := asPod(obj)
	if err != nil {
		return false, err
	}
	switch s.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return terminating(pod), nil
	case corev1.ResourceQuotaScopeNotTerminating:
		return !terminating(pod), nil
	case corev1.ResourceQuotaScopeBestEffort:
		return bestEffort(pod), nil
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !bestEffort(pod), nil
	case corev1.ResourceQuotaScopePriorityClass:
		if s.Operator == corev1.ScopeSelectorOpExists {
			return pod.Spec.PriorityClassName != "", nil
		}
		return selectorMatches(s, pod.Spec.PriorityClassName)
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return crossNamespaceAffinity(pod), nil
	}
	return false, nil
}

// terminating: a pod with an active deadline ends by itself.
func terminating(pod *corev1.Pod) bool {
	d := pod.Spec.ActiveDeadlineSeconds
	return d != nil && *d >= 0
}

// bestEffort: no container, nor the pod, requests or limits CPU or memory.
func bestEffort(pod *corev1.Pod) bool {
	lists := []corev1.ResourceList{}
	if r := pod.Spec.Resources; r != nil {
		lists = append(lists, r.Requests, r.Limits)
	}
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		lists = append(lists, c.Resources.Requests, c.Resources.Limits)
	}
	for _, l := range lists {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := l[name]; ok && q.Sign() > 0 {
				return false
			}
		}
	}
	return true
}

// crossNamespaceAffinity: a pod (anti-)affinity term names namespaces or
// selects them.
func crossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if p := a.PodAffinity; p != nil {
		terms = append(terms, p.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range p.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if p := a.PodAntiAffinity; p != nil {
		terms = append(terms, p.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range p.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
			return true
		}
	}
	return false
}

// counted reports whether a pod still holds its compute resources: it is
// not terminal, nor past its deletion grace period.
func counted(pod *corev1.Pod, clk clock.PassiveClock) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		end := pod.DeletionTimestamp.Add(time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second)
		if clk.Now().After(end) {
			return false
		}
	}
	return true
}

func podUsage(obj runtime.Object, clk clock.PassiveClock) (corev1.ResourceList, error) {
	pod, err := asPod(obj)
	if err != nil {
		return nil, err
	}
	usage := corev1.ResourceList{podCount: *resource.NewQuantity(1, resource.DecimalSI)}
	if !counted(pod, clk) {
		return usage, nil
	}
	opts := resourcehelper.PodResourcesOptions{UseStatusResources: true}
	return quota.Add(usage, computeUsage(resourcehelper.PodRequests(pod, opts), resourcehelper.PodLimits(pod, opts))), nil
}

// computeUsage maps requests and limits to quota names: cpu is
// requests.cpu, and so on.
func computeUsage(requests, limits corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)}
	for _, r := range []struct{ name, plain, request, limit corev1.ResourceName }{
		{corev1.ResourceCPU, corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU},
		{corev1.ResourceMemory, corev1.ResourceMemory, corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory},
		{corev1.ResourceEphemeralStorage, corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage},
	} {
		if q, ok := requests[r.name]; ok {
			out[r.plain] = q
			out[r.request] = q
		}
		if q, ok := limits[r.name]; ok {
			out[r.limit] = q
		}
	}
	for name, q := range requests {
		if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
			out[name] = q
		}
		if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) || extended(name) {
			out[corev1.DefaultResourceRequestsPrefix+name] = q
		}
	}
	return out
}

// podConstraints: when a quota limits cpu or memory (requests or limits),
// every container must state it, unless the pod sets pod-level resources.
func podConstraints(required []corev1.ResourceName, obj runtime.Object) error {
	pod, err := asPod(obj)
	if err != nil {
		return err
	}
	if resourcehelper.IsPodLevelResourcesSet(pod) {
		return nil
	}
	need := quota.Intersection(required, constrained)
	missing := map[corev1.ResourceName][]string{}
	for _, c := range slices.Concat(pod.Spec.Containers, pod.Spec.InitContainers) {
		has := computeUsage(c.Resources.Requests, c.Resources.Limits)
		for _, name := range need {
			if _, ok := has[name]; !ok && !slices.Contains(missing[name], c.Name) {
				missing[name] = append(missing[name], c.Name)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, 0, len(missing))
	for name := range missing {
		names = append(names, string(name))
	}
	slices.Sort(names)
	msgs := make([]string, len(names))
	for i, name := range names {
		containers := missing[corev1.ResourceName(name)]
		slices.Sort(containers)
		msgs[i] = fmt.Sprintf("%s for: %s", name, strings.Join(containers, ","))
	}
	return fmt.Errorf("must specify %s", strings.Join(msgs, "; "))
}
