package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubelite/kubelite/registry/table"
	"github.com/kubelite/kubelite/registry/validation"
)

// Resources returns the policy rows of every served resource.
func Resources() []*Resource {
	core := corev1.SchemeGroupVersion
	return []*Resource{
		{
			GroupVersion: core, Name: "namespaces", Singular: "namespace", Kind: "Namespace",
			ShortNames: []string{"ns"},
			New:        func() runtime.Object { return &corev1.Namespace{} },
			NewList:    func() runtime.Object { return &corev1.NamespaceList{} },
			Validate:   typed(validation.Namespace), ValidateUpdate: typedUpdate(validation.NamespaceUpdate),
			ValidateStatus:   typedUpdate(validation.NamespaceStatusUpdate),
			PrepareForCreate: prepareNamespace,
			PrepareForUpdate: prepareNamespaceUpdate,
			Table:            table.Namespaces,
			Extend:           extendNamespaces,
		},
		{
			GroupVersion: core, Name: "pods", Singular: "pod", Kind: "Pod", Namespaced: true,
			ShortNames: []string{"po"}, Categories: []string{"all"},
			New:      func() runtime.Object { return &corev1.Pod{} },
			NewList:  func() runtime.Object { return &corev1.PodList{} },
			Validate: typed(validation.Pod), ValidateUpdate: typedUpdate(validation.PodUpdate),
			ValidateStatus:   typedUpdate(validation.PodStatusUpdate),
			PrepareForCreate: preparePod,
			GracefulDelete:   podGracefulDelete,
			Table:            table.Pods,
			Extend:           extendPods,
		},
		{
			GroupVersion: core, Name: "nodes", Singular: "node", Kind: "Node",
			ShortNames: []string{"no"},
			New:        func() runtime.Object { return &corev1.Node{} },
			NewList:    func() runtime.Object { return &corev1.NodeList{} },
			Validate:   typed(validation.Node), ValidateUpdate: typedUpdate(validation.NodeUpdate),
			ValidateStatus:     typedUpdate(validation.NodeStatusUpdate),
			KeepStatusOnCreate: true,
			Table:              table.Nodes,
		},
		{
			GroupVersion: core, Name: "services", Singular: "service", Kind: "Service", Namespaced: true,
			ShortNames: []string{"svc"}, Categories: []string{"all"},
			New:      func() runtime.Object { return &corev1.Service{} },
			NewList:  func() runtime.Object { return &corev1.ServiceList{} },
			Validate: typed(validation.Service), ValidateUpdate: typedUpdate(validation.ServiceUpdate),
			ValidateStatus:   typedUpdate(validation.ServiceStatusUpdate),
			PrepareForUpdate: prepareServiceUpdate,
			Table:            table.Services,
			Hooks:            serviceHooks,
		},
		{
			GroupVersion: core, Name: "endpoints", Singular: "endpoints", Kind: "Endpoints", Namespaced: true,
			ShortNames: []string{"ep"}, AllowCreateOnUpdate: true,
			New:      func() runtime.Object { return &corev1.Endpoints{} },
			NewList:  func() runtime.Object { return &corev1.EndpointsList{} },
			Validate: typed(validation.Endpoints), ValidateUpdate: typedUpdate(validation.EndpointsUpdate),
			Table: table.Endpoints,
		},
		{
			GroupVersion: core, Name: "configmaps", Singular: "configmap", Kind: "ConfigMap", Namespaced: true,
			ShortNames: []string{"cm"},
			New:        func() runtime.Object { return &corev1.ConfigMap{} },
			NewList:    func() runtime.Object { return &corev1.ConfigMapList{} },
			Validate:   typed(validation.ConfigMap), ValidateUpdate: typedUpdate(validation.ConfigMapUpdate),
			Table: table.ConfigMaps,
		},
		{
			GroupVersion: core, Name: "secrets", Singular: "secret", Kind: "Secret", Namespaced: true,
			New:      func() runtime.Object { return &corev1.Secret{} },
			NewList:  func() runtime.Object { return &corev1.SecretList{} },
			Validate: typed(validation.Secret), ValidateUpdate: typedUpdate(validation.SecretUpdate),
			Table: table.Secrets,
		},
		{
			GroupVersion: core, Name: "serviceaccounts", Singular: "serviceaccount", Kind: "ServiceAccount", Namespaced: true,
			ShortNames: []string{"sa"},
			New:        func() runtime.Object { return &corev1.ServiceAccount{} },
			NewList:    func() runtime.Object { return &corev1.ServiceAccountList{} },
			Validate:   typed(validation.ServiceAccount), ValidateUpdate: typedUpdate(validation.ServiceAccountUpdate),
			Table: table.ServiceAccounts,
		},
		{
			GroupVersion: core, Name: "events", Singular: "event", Kind: "Event", Namespaced: true,
			ShortNames: []string{"ev"}, AllowCreateOnUpdate: true,
			New:      func() runtime.Object { return &corev1.Event{} },
			NewList:  func() runtime.Object { return &corev1.EventList{} },
			Validate: typed(validation.Event), ValidateUpdate: typedUpdate(validation.EventUpdate),
			Table: table.Events,
		},
		{
			GroupVersion: core, Name: "limitranges", Singular: "limitrange", Kind: "LimitRange", Namespaced: true,
			ShortNames: []string{"limits"}, AllowCreateOnUpdate: true,
			New:      func() runtime.Object { return &corev1.LimitRange{} },
			NewList:  func() runtime.Object { return &corev1.LimitRangeList{} },
			Validate: typed(validation.LimitRange), ValidateUpdate: typedUpdate(validation.LimitRangeUpdate),
			Table: table.LimitRanges,
		},
		{
			GroupVersion: core, Name: "resourcequotas", Singular: "resourcequota", Kind: "ResourceQuota", Namespaced: true,
			ShortNames: []string{"quota"},
			New:        func() runtime.Object { return &corev1.ResourceQuota{} },
			NewList:    func() runtime.Object { return &corev1.ResourceQuotaList{} },
			Validate:   typed(validation.ResourceQuota), ValidateUpdate: typedUpdate(validation.ResourceQuotaUpdate),
			ValidateStatus: typedUpdate(validation.ResourceQuotaStatusUpdate),
			Table:          table.ResourceQuotas,
		},
		{
			GroupVersion: core, Name: "persistentvolumes", Singular: "persistentvolume", Kind: "PersistentVolume",
			ShortNames: []string{"pv"},
			New:        func() runtime.Object { return &corev1.PersistentVolume{} },
			NewList:    func() runtime.Object { return &corev1.PersistentVolumeList{} },
			Validate:   typed(validation.PersistentVolume), ValidateUpdate: typedUpdate(validation.PersistentVolumeUpdate),
			ValidateStatus:   typedUpdate(validation.PersistentVolumeStatusUpdate),
			PrepareForCreate: preparePersistentVolume,
			Table:            table.PersistentVolumes,
		},
		{
			GroupVersion: core, Name: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Kind: "PersistentVolumeClaim", Namespaced: true,
			ShortNames: []string{"pvc"},
			New:        func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
			NewList:    func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
			Validate:   typed(validation.PersistentVolumeClaim), ValidateUpdate: typedUpdate(validation.PersistentVolumeClaimUpdate),
			ValidateStatus:   typedUpdate(validation.PersistentVolumeClaimStatusUpdate),
			PrepareForCreate: preparePersistentVolumeClaim,
			Table:            table.PersistentVolumeClaims,
		},
		{
			GroupVersion: core, Name: "podtemplates", Singular: "podtemplate", Kind: "PodTemplate", Namespaced: true,
			New:      func() runtime.Object { return &corev1.PodTemplate{} },
			NewList:  func() runtime.Object { return &corev1.PodTemplateList{} },
			Validate: typed(validation.PodTemplate), ValidateUpdate: typedUpdate(validation.PodTemplateUpdate),
			Table: table.PodTemplates,
		},
		{
			GroupVersion: core, Name: "replicationcontrollers", Singular: "replicationcontroller", Kind: "ReplicationController", Namespaced: true,
			ShortNames: []string{"rc"}, Categories: []string{"all"},
			New:      func() runtime.Object { return &corev1.ReplicationController{} },
			NewList:  func() runtime.Object { return &corev1.ReplicationControllerList{} },
			Validate: typed(validation.ReplicationController), ValidateUpdate: typedUpdate(validation.ReplicationControllerUpdate),
			ValidateStatus:  typedUpdate(validation.ReplicationControllerStatusUpdate),
			TrackGeneration: true,
			Table:           table.ReplicationControllers,
			Extend:          extendReplicationControllers,
		},
	}
}
