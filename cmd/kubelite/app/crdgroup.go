package app

import (
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

// crdGroup returns the discovery entry of group from the served versions of its
// established CRDs, ordered as upstream orders them (by version priority); false
// when no CRD serves the group.
func crdGroup(group string, crds []*apiextensionsv1.CustomResourceDefinition) (metav1.APIGroup, bool) {
	seen := map[string]bool{}
	var versions []string
	for _, crd := range crds {
		if crd.Spec.Group != group || !established(crd) {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Served && !seen[v.Name] {
				seen[v.Name] = true
				versions = append(versions, v.Name)
			}
		}
	}
	if len(versions) == 0 {
		return metav1.APIGroup{}, false
	}
	sort.Slice(versions, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(versions[i], versions[j]) > 0 })
	g := metav1.APIGroup{Name: group}
	for _, v := range versions {
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v, Version: v})
	}
	g.PreferredVersion = g.Versions[0]
	return g, true
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
