package framework

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
)

// AffinityTerm is a pod (anti-)affinity term, parsed: which pods it selects
// and the topology key whose domains it is about.
type AffinityTerm struct {
	// Namespaces and NamespaceSelector pick the namespaces of the pods the
	// term selects: a pod counts when its namespace is listed or its
	// namespace's labels match (nil: no selector). A term with neither
	// means the owning pod's namespace.
	Namespaces        sets.Set[string]
	NamespaceSelector labels.Selector
	// Selector selects pods by label, including the owning pod's
	// matchLabelKeys (must equal) and mismatchLabelKeys (must differ).
	Selector    labels.Selector
	TopologyKey string
	// Key is TermKey of the term as parsed: terms with equal keys select
	// the same pods.
	Key string
}

// WeightedAffinityTerm is a preferred term and its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// PodAffinity is a pod's parsed affinity and anti-affinity.
type PodAffinity struct {
	Required, RequiredAnti   []AffinityTerm
	Preferred, PreferredAnti []WeightedAffinityTerm
}

// Matches reports whether the term selects pod, whose namespace has the
// labels nsLabels.
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if !t.Namespaces.Has(pod.Namespace) && (t.NamespaceSelector == nil || !t.NamespaceSelector.Matches(nsLabels)) {
		return false
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// NewPodAffinity parses pod's pod affinity and anti-affinity; nil when it
// has none. A term whose selector does not parse selects nothing (the API
// server validates selectors, so this is only for the impossible case).
func NewPodAffinity(pod *corev1.Pod) *PodAffinity {
	a := pod.Spec.Affinity
	if a == nil || (a.PodAffinity == nil && a.PodAntiAffinity == nil) {
		return nil
	}
	out := &PodAffinity{}
	if pa := a.PodAffinity; pa != nil {
		out.Required = parseTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
		out.Preferred = parseWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		out.RequiredAnti = parseTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
		out.PreferredAnti = parseWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if len(out.Required)+len(out.RequiredAnti)+len(out.Preferred)+len(out.PreferredAnti) == 0 {
		return nil
	}
	return out
}

func parseTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm) []AffinityTerm {
	var out []AffinityTerm
	for i := range terms {
		out = append(out, parseTerm(pod, &terms[i]))
	}
	return out
}

func parseWeighted(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range terms {
		if terms[i].Weight == 0 {
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: parseTerm(pod, &terms[i].PodAffinityTerm), Weight: terms[i].Weight})
	}
	return out
}

func parseTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) AffinityTerm {
	t := parseSelectors(pod, term)
	t.Key = TermKey(&t)
	return t
}

func parseSelectors(pod *corev1.Pod, term *corev1.PodAffinityTerm) AffinityTerm {
	t := AffinityTerm{TopologyKey: term.TopologyKey, Namespaces: sets.New(term.Namespaces...)}
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		t.Namespaces.Insert(pod.Namespace)
	}
	if term.NamespaceSelector != nil {
		t.NamespaceSelector = selectorOrNothing(term.NamespaceSelector)
	}
	t.Selector = selectorOrNothing(term.LabelSelector)
	if term.LabelSelector == nil {
		return t
	}
	for _, key := range term.MatchLabelKeys {
		if v, ok := pod.Labels[key]; ok {
			if r, err := labels.NewRequirement(key, selection.In, []string{v}); err == nil {
				t.Selector = t.Selector.Add(*r)
			}
		}
	}
	for _, key := range term.MismatchLabelKeys {
		if v, ok := pod.Labels[key]; ok {
			if r, err := labels.NewRequirement(key, selection.NotIn, []string{v}); err == nil {
				t.Selector = t.Selector.Add(*r)
			}
		}
	}
	return t
}

// selectorOrNothing converts s; nil and unparsable selectors select nothing.
func selectorOrNothing(s *metav1.LabelSelector) labels.Selector {
	if s == nil {
		return labels.Nothing()
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return labels.Nothing()
	}
	return sel
}
