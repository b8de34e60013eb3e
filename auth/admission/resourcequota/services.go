package resourcequota

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

var serviceResources = []corev1.ResourceName{
	generic.ObjectCountQuotaResourceNameFor(corev1.SchemeGroupVersion.WithResource("services").GroupResource()),
	corev1.ResourceServices, corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

// serviceEvaluator counts services, their node ports and load balancers.
// An update can change the latter two.
func serviceEvaluator(list generic.ListFuncByNamespace) *evaluator {
	return &evaluator{
		resource: corev1.SchemeGroupVersion.WithResource("services").GroupResource(),
		list:     list,
		matching: func(in []corev1.ResourceName) []corev1.ResourceName { return quota.Intersection(in, serviceResources) },
		usage:    serviceUsage,
		handles: func(a admission.Attributes) bool {
			op := a.GetOperation()
			return a.GetSubresource() == "" && (op == admission.Create || op == admission.Update)
		},
	}
}

func serviceUsage(obj runtime.Object) (corev1.ResourceList, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, fmt.Errorf("expect *v1.Service, got %T", obj)
	}
	count := func(n int) resource.Quantity { return *resource.NewQuantity(int64(n), resource.DecimalSI) }
	nodePorts, balancers := 0, 0
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		nodePorts = len(svc.Spec.Ports)
	case corev1.ServiceTypeLoadBalancer:
		balancers = 1
		nodePorts = len(svc.Spec.Ports)
		if a := svc.Spec.AllocateLoadBalancerNodePorts; a != nil && !*a {
			nodePorts = 0
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					nodePorts++
				}
			}
		}
	}
	return corev1.ResourceList{
		serviceResources[0]:                  count(1),
		corev1.ResourceServices:              count(1),
		corev1.ResourceServicesNodePorts:     count(nodePorts),
		corev1.ResourceServicesLoadBalancers: count(balancers),
	}, nil
}

// storageClassInfix joins a storage class name and a claim resource:
// gold.storageclass.storage.k8s.io/requests.storage.
const storageClassInfix = ".storageclass.storage.k8s.io/"

var claimCount = generic.ObjectCountQuotaResourceNameFor(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims").GroupResource())

// claimEvaluator counts persistent volume claims and the storage they
// request, in total and per storage class.
func claimEvaluator(list generic.ListFuncByNamespace) *evaluator {
	return &evaluator{
		resource: corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims").GroupResource(),
		list:     list,
		matching: claimMatching,
		usage:    claimUsage,
		handles: func(a admission.Attributes) bool {
			op := a.GetOperation()
			return a.GetSubresource() == "" && (op == admission.Create || op == admission.Update)
		},
	}
}

func claimMatching(in []corev1.ResourceName) []corev1.ResourceName {
	var out []corev1.ResourceName
	for _, name := range in {
		switch s := string(name); {
		case name == claimCount, name == corev1.ResourcePersistentVolumeClaims, name == corev1.ResourceRequestsStorage,
			strings.HasSuffix(s, storageClassInfix+string(corev1.ResourcePersistentVolumeClaims)),
			strings.HasSuffix(s, storageClassInfix+string(corev1.ResourceRequestsStorage)):
			out = append(out, name)
		}
	}
	return out
}

func claimUsage(obj runtime.Object) (corev1.ResourceList, error) {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil, fmt.Errorf("expect *v1.PersistentVolumeClaim, got %T", obj)
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	usage := corev1.ResourceList{corev1.ResourcePersistentVolumeClaims: one, claimCount: one}
	class := storagehelpers.GetPersistentVolumeClaimClass(pvc)
	if class != "" {
		usage[corev1.ResourceName(class+storageClassInfix+string(corev1.ResourcePersistentVolumeClaims))] = one
	}
	storage, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return usage, nil
	}
	// Charge the larger of the request and what was allocated (a failed
	// expansion can leave the latter above the former), in whole units.
	if allocated, ok := pvc.Status.AllocatedResources[corev1.ResourceStorage]; ok && allocated.Cmp(storage) > 0 {
		storage = allocated
	}
	storage = storage.DeepCopy()
	storage.RoundUp(0)
	usage[corev1.ResourceRequestsStorage] = storage
	if class != "" {
		usage[corev1.ResourceName(class+storageClassInfix+string(corev1.ResourceRequestsStorage))] = storage
	}
	return usage, nil
}
