package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNode(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", ResourceVersion: "1"}}
	checkErrs(t, Node(node), nil)

	bad := node.DeepCopy()
	bad.Namespace = "default"
	bad.Spec.Taints = []corev1.Taint{
		{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		{Key: "dedicated", Value: "cpu", Effect: corev1.TaintEffectNoSchedule},
		{Key: "x", Effect: ""},
	}
	bad.Spec.PodCIDRs = []string{"10.0.0.0/24", "10.1.0.0/24"}
	bad.Status.Capacity = corev1.ResourceList{corev1.ResourcePods: qty("1.5")}
	checkErrs(t, Node(bad), []string{
		"FieldValueForbidden metadata.namespace",
		"FieldValueDuplicate metadata.taints[1]",
		"FieldValueRequired metadata.taints[2].effect",
		"FieldValueInvalid status.capacity.pods",
		"FieldValueInvalid spec.podCIDRs",
	})

	old := node.DeepCopy()
	old.Spec.PodCIDRs = []string{"10.0.0.0/24"}
	old.Spec.ProviderID = "kwok://node-1"
	upd := old.DeepCopy()
	upd.Spec.PodCIDRs = []string{"10.9.0.0/24"}
	upd.Spec.ProviderID = "other://node-1"
	upd.Spec.Unschedulable = true
	checkErrs(t, NodeUpdate(upd, old), []string{"FieldValueForbidden spec.podCIDRs", "FieldValueInvalid spec.providerID"})
	checkErrs(t, NodeStatusUpdate(upd, old), []string{"FieldValueForbidden spec.podCIDRs", "FieldValueInvalid spec.providerID"})
}

func TestEndpoints(t *testing.T) {
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.1.0.5"}},
			Ports:     []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}},
		}},
	}
	checkErrs(t, Endpoints(ep), nil)
	bad := ep.DeepCopy()
	bad.Subsets = append(bad.Subsets, corev1.EndpointSubset{
		Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}},
		Ports:     []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "b", Port: 0, Protocol: corev1.ProtocolUDP}},
	}, corev1.EndpointSubset{})
	checkErrs(t, Endpoints(bad), []string{
		"FieldValueInvalid subsets[1].addresses[0].ip",
		"FieldValueRequired subsets[1].ports[0].name",
		"FieldValueInvalid subsets[1].ports[1].port",
		"FieldValueRequired subsets[2]",
	})
	// Unchanged subsets are not re-validated on update.
	checkErrs(t, EndpointsUpdate(bad, bad.DeepCopy()), nil)
}

func TestLimitRange(t *testing.T) {
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			Min:            corev1.ResourceList{corev1.ResourceCPU: qty("100m")},
			Max:            corev1.ResourceList{corev1.ResourceCPU: qty("2")},
			Default:        corev1.ResourceList{corev1.ResourceCPU: qty("500m")},
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: qty("200m")},
		}}},
	}
	checkErrs(t, LimitRange(lr), nil)
	bad := lr.DeepCopy()
	bad.Spec.Limits[0].Min[corev1.ResourceCPU] = qty("3")
	bad.Spec.Limits = append(bad.Spec.Limits, corev1.LimitRangeItem{Type: corev1.LimitTypeContainer}, corev1.LimitRangeItem{
		Type: corev1.LimitTypePod, Default: corev1.ResourceList{corev1.ResourceCPU: qty("1")},
	}, corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim})
	checkErrs(t, LimitRange(bad), []string{
		"FieldValueInvalid spec.limits[0].min[cpu]",
		"FieldValueInvalid spec.limits[0].defaultRequest[cpu]",
		"FieldValueInvalid spec.limits[0].default[cpu]",
		"FieldValueDuplicate spec.limits[1].type",
		"FieldValueForbidden spec.limits[2].default",
		"FieldValueRequired spec.limits[3].limits",
	})
}

func TestResourceQuota(t *testing.T) {
	rq := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "quota", Namespace: "default", ResourceVersion: "1"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: qty("10"), corev1.ResourceRequestsCPU: qty("4")}},
	}
	checkErrs(t, ResourceQuota(rq), nil)
	bad := rq.DeepCopy()
	bad.Spec.Hard["bogus"] = qty("1")
	bad.Spec.Hard[corev1.ResourceServices] = qty("1.5")
	bad.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort}
	checkErrs(t, ResourceQuota(bad), []string{
		"FieldValueInvalid spec.hard[bogus]", // not a standard resource
		"FieldValueInvalid spec.hard[bogus]", // not a quota resource
		"FieldValueInvalid spec.hard[services]",
		"FieldValueInvalid spec.scopes", // BestEffort with requests.cpu
		"FieldValueInvalid spec.scopes", // BestEffort with services
		"FieldValueInvalid spec.scopes", // NotBestEffort with services
		"FieldValueInvalid spec.scopes", // conflicting scopes
	})
	upd := rq.DeepCopy()
	upd.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating}
	checkErrs(t, ResourceQuotaUpdate(upd, rq), []string{"FieldValueInvalid spec.scopes"})
	st := rq.DeepCopy()
	st.ResourceVersion = ""
	st.Status.Used = corev1.ResourceList{corev1.ResourcePods: qty("-1")}
	checkErrs(t, ResourceQuotaStatusUpdate(st, rq), []string{"FieldValueInvalid metadata.resourceVersion", "FieldValueRequired resourceVersion", "FieldValueInvalid status.used[pods]"})
}
