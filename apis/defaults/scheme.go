package defaults

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// AddToScheme registers a defaulting function for every object and list type
// that upstream Kubernetes defaults in core/v1, apps/v1, batch/v1,
// autoscaling/v1 and v2, networking.k8s.io/v1, discovery.k8s.io/v1,
// rbac.authorization.k8s.io/v1, scheduling.k8s.io/v1, storage.k8s.io/v1,
// admissionregistration.k8s.io/v1, certificates.k8s.io/v1,
// flowcontrol.apiserver.k8s.io/v1, apiregistration.k8s.io/v1 and
// resource.k8s.io/v1, so that
// s.Default, and every codec built from s, applies them. policy/v1,
// events.k8s.io/v1, coordination.k8s.io/v1 and node.k8s.io/v1 have no
// defaults. A function is registered by Go type, so s need not know a type
// for this to succeed; it never fails, and the error result lets it sit in a
// runtime.SchemeBuilder.
func AddToScheme(s *runtime.Scheme) error {
	register(s, ConfigMap)
	register(s, Endpoints)
	register(s, LimitRange)
	register(s, Namespace)
	register(s, Node)
	register(s, PersistentVolume)
	register(s, PersistentVolumeClaim)
	register(s, Pod)
	register(s, PodTemplate)
	register(s, ReplicationController)
	register(s, ResourceQuota)
	register(s, Secret)
	register(s, Service)

	register(s, func(l *corev1.ConfigMapList) { eachItem(l.Items, ConfigMap) })
	register(s, func(l *corev1.EndpointsList) { eachItem(l.Items, Endpoints) })
	register(s, func(l *corev1.LimitRangeList) { eachItem(l.Items, LimitRange) })
	register(s, func(l *corev1.NamespaceList) { eachItem(l.Items, Namespace) })
	register(s, func(l *corev1.NodeList) { eachItem(l.Items, Node) })
	register(s, func(l *corev1.PersistentVolumeList) { eachItem(l.Items, PersistentVolume) })
	register(s, func(l *corev1.PersistentVolumeClaimList) { eachItem(l.Items, PersistentVolumeClaim) })
	register(s, func(l *corev1.PodList) { eachItem(l.Items, Pod) })
	register(s, func(l *corev1.PodTemplateList) { eachItem(l.Items, PodTemplate) })
	register(s, func(l *corev1.ReplicationControllerList) { eachItem(l.Items, ReplicationController) })
	register(s, func(l *corev1.ResourceQuotaList) { eachItem(l.Items, ResourceQuota) })
	register(s, func(l *corev1.SecretList) { eachItem(l.Items, Secret) })
	register(s, func(l *corev1.ServiceList) { eachItem(l.Items, Service) })

	register(s, DaemonSet)
	register(s, Deployment)
	register(s, ReplicaSet)
	register(s, StatefulSet)
	register(s, func(l *appsv1.DaemonSetList) { eachItem(l.Items, DaemonSet) })
	register(s, func(l *appsv1.DeploymentList) { eachItem(l.Items, Deployment) })
	register(s, func(l *appsv1.ReplicaSetList) { eachItem(l.Items, ReplicaSet) })
	register(s, func(l *appsv1.StatefulSetList) { eachItem(l.Items, StatefulSet) })

	register(s, CronJob)
	register(s, Job)
	register(s, func(l *batchv1.CronJobList) { eachItem(l.Items, CronJob) })
	register(s, func(l *batchv1.JobList) { eachItem(l.Items, Job) })

	register(s, HorizontalPodAutoscalerV1)
	register(s, HorizontalPodAutoscaler)
	register(s, func(l *autoscalingv1.HorizontalPodAutoscalerList) { eachItem(l.Items, HorizontalPodAutoscalerV1) })
	register(s, func(l *autoscalingv2.HorizontalPodAutoscalerList) { eachItem(l.Items, HorizontalPodAutoscaler) })

	register(s, IngressClass)
	register(s, NetworkPolicy)
	register(s, func(l *networkingv1.IngressClassList) { eachItem(l.Items, IngressClass) })
	register(s, func(l *networkingv1.NetworkPolicyList) { eachItem(l.Items, NetworkPolicy) })

	register(s, EndpointSlice)
	register(s, func(l *discoveryv1.EndpointSliceList) { eachItem(l.Items, EndpointSlice) })

	register(s, ClusterRoleBinding)
	register(s, RoleBinding)
	register(s, func(l *rbacv1.ClusterRoleBindingList) { eachItem(l.Items, ClusterRoleBinding) })
	register(s, func(l *rbacv1.RoleBindingList) { eachItem(l.Items, RoleBinding) })

	register(s, PriorityClass)
	register(s, func(l *schedulingv1.PriorityClassList) { eachItem(l.Items, PriorityClass) })

	register(s, CSIDriver)
	register(s, StorageClass)
	register(s, VolumeAttachment)
	register(s, func(l *storagev1.CSIDriverList) { eachItem(l.Items, CSIDriver) })
	register(s, func(l *storagev1.StorageClassList) { eachItem(l.Items, StorageClass) })
	register(s, func(l *storagev1.VolumeAttachmentList) { eachItem(l.Items, VolumeAttachment) })

	register(s, DeviceTaintRule)
	register(s, ResourceClaim)
	register(s, ResourceClaimTemplate)
	register(s, ResourceSlice)
	register(s, func(l *resourcev1.DeviceTaintRuleList) { eachItem(l.Items, DeviceTaintRule) })
	register(s, func(l *resourcev1.ResourceClaimList) { eachItem(l.Items, ResourceClaim) })
	register(s, func(l *resourcev1.ResourceClaimTemplateList) { eachItem(l.Items, ResourceClaimTemplate) })
	register(s, func(l *resourcev1.ResourceSliceList) { eachItem(l.Items, ResourceSlice) })

	register(s, MutatingAdmissionPolicy)
	register(s, MutatingAdmissionPolicyBinding)
	register(s, MutatingWebhookConfiguration)
	register(s, ValidatingAdmissionPolicy)
	register(s, ValidatingAdmissionPolicyBinding)
	register(s, ValidatingWebhookConfiguration)
	register(s, func(l *admissionregistrationv1.MutatingAdmissionPolicyList) {
		eachItem(l.Items, MutatingAdmissionPolicy)
	})
	register(s, func(l *admissionregistrationv1.MutatingAdmissionPolicyBindingList) {
		eachItem(l.Items, MutatingAdmissionPolicyBinding)
	})
	register(s, func(l *admissionregistrationv1.MutatingWebhookConfigurationList) {
		eachItem(l.Items, MutatingWebhookConfiguration)
	})
	register(s, func(l *admissionregistrationv1.ValidatingAdmissionPolicyList) {
		eachItem(l.Items, ValidatingAdmissionPolicy)
	})
	register(s, func(l *admissionregistrationv1.ValidatingAdmissionPolicyBindingList) {
		eachItem(l.Items, ValidatingAdmissionPolicyBinding)
	})
	register(s, func(l *admissionregistrationv1.ValidatingWebhookConfigurationList) {
		eachItem(l.Items, ValidatingWebhookConfiguration)
	})

	register(s, PodCertificateRequest)
	register(s, func(l *certificatesv1.PodCertificateRequestList) { eachItem(l.Items, PodCertificateRequest) })

	register(s, FlowSchema)
	register(s, PriorityLevelConfiguration)
	register(s, func(l *flowcontrolv1.FlowSchemaList) { eachItem(l.Items, FlowSchema) })
	register(s, func(l *flowcontrolv1.PriorityLevelConfigurationList) { eachItem(l.Items, PriorityLevelConfiguration) })
	register(s, APIService)
	register(s, func(l *apiregistrationv1.APIServiceList) { eachItem(l.Items, APIService) })
	return nil
}

// register adds fn as the defaulting function of T's concrete type in s.
func register[T interface {
	*E
	runtime.Object
}, E any](s *runtime.Scheme, fn func(T)) {
	s.AddTypeDefaultingFunc(T(new(E)), func(obj any) { fn(obj.(T)) })
}

// eachItem calls fn on a pointer to every element of items, in place.
func eachItem[E any](items []E, fn func(*E)) {
	for i := range items {
		fn(&items[i])
	}
}
