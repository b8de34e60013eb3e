package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDecodeDefaultsDeployment(t *testing.T) {
	const deploymentJSON = `{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {"name": "web", "namespace": "default"},
		"spec": {
			"selector": {"matchLabels": {"app": "web"}},
			"template": {
				"metadata": {"labels": {"app": "web"}},
				"spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]}
			}
		}
	}`
	s := runtime.NewScheme()
	if err := appsv1.AddToScheme(s); err != nil {
		t.Fatalf("add apps/v1 types: %v", err)
	}
	if err := AddToScheme(s); err != nil {
		t.Fatalf("add defaults: %v", err)
	}
	decoder := serializer.NewCodecFactory(s).UniversalDecoder(appsv1.SchemeGroupVersion)
	obj, _, err := decoder.Decode([]byte(deploymentJSON), nil, nil)
	if err != nil {
		t.Fatalf("decode deployment: %v", err)
	}
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		t.Fatalf("decoded a %T, want *v1.Deployment", obj)
	}

	web := defaulted(container("web", "nginx"), corev1.PullAlways)
	web.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
	want := appsv1.DeploymentSpec{
		Replicas: new(int32(1)),
		Selector: &metav1.LabelSelector{MatchLabels: webLabels()},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: webLabels()},
			Spec:       defaultedSpec(corev1.PodSpec{Containers: []corev1.Container{web}}),
		},
		Strategy: appsv1.DeploymentStrategy{
			Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: intOrString(intstr.FromString("25%")),
				MaxSurge:       intOrString(intstr.FromString("25%")),
			},
		},
		RevisionHistoryLimit:    new(int32(10)),
		ProgressDeadlineSeconds: new(int32(600)),
	}
	if diff := cmp.Diff(want, d.Spec, quantityByValue()); diff != "" {
		t.Errorf("decoded deployment spec mismatch (-want +got):\n%s", diff)
	}
	if len(d.Labels) != 0 {
		t.Errorf("decoded deployment labels = %v, want none: apps/v1 copies nothing from the template", d.Labels)
	}
}

// schemeCase is an object for scheme.Default and what it must become.
type schemeCase struct {
	name string
	in   runtime.Object
	want runtime.Object
}

// byFunc is the scheme case of obj, expected to be defaulted by fn.
func byFunc[T any, P interface {
	*T
	runtime.Object
}](name string, obj P, fn func(P)) schemeCase {
	want := obj.DeepCopyObject().(P)
	fn(want)
	return schemeCase{name: name, in: obj, want: want}
}

// TestSchemeDefaultsGroups checks that AddToScheme registers every object
// and list type of the groups beyond core/v1, with a scheme that knows none
// of those types: defaulting functions are keyed by Go type.
func TestSchemeDefaultsGroups(t *testing.T) {
	webhookConfig := func() []admissionregistrationv1.ValidatingWebhook {
		return make([]admissionregistrationv1.ValidatingWebhook, 1)
	}
	mutatingConfig := func() []admissionregistrationv1.MutatingWebhook {
		return make([]admissionregistrationv1.MutatingWebhook, 1)
	}
	match := func() *admissionregistrationv1.MatchResources { return &admissionregistrationv1.MatchResources{} }
	slice := func() discoveryv1.EndpointSlice {
		return discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: new(int32(80))}}}
	}
	ingressClass := func() networkingv1.IngressClass {
		return networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Parameters: &networkingv1.IngressClassParametersReference{Kind: "K", Name: "n"}}}
	}
	attachment := func() storagev1.VolumeAttachment {
		return storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{Source: storagev1.VolumeAttachmentSource{
			InlineVolumeSpec: &corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{corev1.ResourceStorage: q("0.0001")}},
		}}}
	}
	vapBinding := func() admissionregistrationv1.ValidatingAdmissionPolicyBinding {
		return admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{MatchResources: match()}}
	}
	mapBinding := func() admissionregistrationv1.MutatingAdmissionPolicyBinding {
		return admissionregistrationv1.MutatingAdmissionPolicyBinding{Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{MatchResources: match()}}
	}

	cases := []schemeCase{
		byFunc("DaemonSet", &appsv1.DaemonSet{}, DaemonSet),
		byFunc("Deployment", &appsv1.Deployment{}, Deployment),
		byFunc("ReplicaSet", &appsv1.ReplicaSet{}, ReplicaSet),
		byFunc("StatefulSet", &appsv1.StatefulSet{}, StatefulSet),
		byFunc("CronJob", &batchv1.CronJob{}, CronJob),
		byFunc("Job", &batchv1.Job{}, Job),
		byFunc("HorizontalPodAutoscalerV1", &autoscalingv1.HorizontalPodAutoscaler{}, HorizontalPodAutoscalerV1),
		byFunc("HorizontalPodAutoscaler", &autoscalingv2.HorizontalPodAutoscaler{}, HorizontalPodAutoscaler),
		byFunc("IngressClass", new(ingressClass()), IngressClass),
		byFunc("NetworkPolicy", &networkingv1.NetworkPolicy{}, NetworkPolicy),
		byFunc("EndpointSlice", new(slice()), EndpointSlice),
		byFunc("ClusterRoleBinding", &rbacv1.ClusterRoleBinding{}, ClusterRoleBinding),
		byFunc("RoleBinding", &rbacv1.RoleBinding{}, RoleBinding),
		byFunc("PriorityClass", &schedulingv1.PriorityClass{}, PriorityClass),
		byFunc("CSIDriver", &storagev1.CSIDriver{}, CSIDriver),
		byFunc("StorageClass", &storagev1.StorageClass{}, StorageClass),
		byFunc("VolumeAttachment", new(attachment()), VolumeAttachment),
		byFunc("MutatingAdmissionPolicy", &admissionregistrationv1.MutatingAdmissionPolicy{}, MutatingAdmissionPolicy),
		byFunc("MutatingAdmissionPolicyBinding", new(mapBinding()), MutatingAdmissionPolicyBinding),
		byFunc("MutatingWebhookConfiguration", &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: mutatingConfig()}, MutatingWebhookConfiguration),
		byFunc("ValidatingAdmissionPolicy", &admissionregistrationv1.ValidatingAdmissionPolicy{}, ValidatingAdmissionPolicy),
		byFunc("ValidatingAdmissionPolicyBinding", new(vapBinding()), ValidatingAdmissionPolicyBinding),
		byFunc("ValidatingWebhookConfiguration", &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: webhookConfig()}, ValidatingWebhookConfiguration),
		byFunc("PodCertificateRequest", &certificatesv1.PodCertificateRequest{}, PodCertificateRequest),

		byFunc("DaemonSetList", &appsv1.DaemonSetList{Items: make([]appsv1.DaemonSet, 2)}, func(l *appsv1.DaemonSetList) { eachItem(l.Items, DaemonSet) }),
		byFunc("DeploymentList", &appsv1.DeploymentList{Items: make([]appsv1.Deployment, 2)}, func(l *appsv1.DeploymentList) { eachItem(l.Items, Deployment) }),
		byFunc("ReplicaSetList", &appsv1.ReplicaSetList{Items: make([]appsv1.ReplicaSet, 2)}, func(l *appsv1.ReplicaSetList) { eachItem(l.Items, ReplicaSet) }),
		byFunc("StatefulSetList", &appsv1.StatefulSetList{Items: make([]appsv1.StatefulSet, 2)}, func(l *appsv1.StatefulSetList) { eachItem(l.Items, StatefulSet) }),
		byFunc("CronJobList", &batchv1.CronJobList{Items: make([]batchv1.CronJob, 2)}, func(l *batchv1.CronJobList) { eachItem(l.Items, CronJob) }),
		byFunc("JobList", &batchv1.JobList{Items: make([]batchv1.Job, 2)}, func(l *batchv1.JobList) { eachItem(l.Items, Job) }),
		byFunc("HorizontalPodAutoscalerV1List", &autoscalingv1.HorizontalPodAutoscalerList{Items: make([]autoscalingv1.HorizontalPodAutoscaler, 2)},
			func(l *autoscalingv1.HorizontalPodAutoscalerList) { eachItem(l.Items, HorizontalPodAutoscalerV1) }),
		byFunc("HorizontalPodAutoscalerList", &autoscalingv2.HorizontalPodAutoscalerList{Items: make([]autoscalingv2.HorizontalPodAutoscaler, 2)},
			func(l *autoscalingv2.HorizontalPodAutoscalerList) { eachItem(l.Items, HorizontalPodAutoscaler) }),
		byFunc("IngressClassList", &networkingv1.IngressClassList{Items: []networkingv1.IngressClass{ingressClass(), ingressClass()}},
			func(l *networkingv1.IngressClassList) { eachItem(l.Items, IngressClass) }),
		byFunc("NetworkPolicyList", &networkingv1.NetworkPolicyList{Items: make([]networkingv1.NetworkPolicy, 2)},
			func(l *networkingv1.NetworkPolicyList) { eachItem(l.Items, NetworkPolicy) }),
		byFunc("EndpointSliceList", &discoveryv1.EndpointSliceList{Items: []discoveryv1.EndpointSlice{slice(), slice()}},
			func(l *discoveryv1.EndpointSliceList) { eachItem(l.Items, EndpointSlice) }),
		byFunc("ClusterRoleBindingList", &rbacv1.ClusterRoleBindingList{Items: make([]rbacv1.ClusterRoleBinding, 2)},
			func(l *rbacv1.ClusterRoleBindingList) { eachItem(l.Items, ClusterRoleBinding) }),
		byFunc("RoleBindingList", &rbacv1.RoleBindingList{Items: make([]rbacv1.RoleBinding, 2)},
			func(l *rbacv1.RoleBindingList) { eachItem(l.Items, RoleBinding) }),
		byFunc("PriorityClassList", &schedulingv1.PriorityClassList{Items: make([]schedulingv1.PriorityClass, 2)},
			func(l *schedulingv1.PriorityClassList) { eachItem(l.Items, PriorityClass) }),
		byFunc("CSIDriverList", &storagev1.CSIDriverList{Items: make([]storagev1.CSIDriver, 2)},
			func(l *storagev1.CSIDriverList) { eachItem(l.Items, CSIDriver) }),
		byFunc("StorageClassList", &storagev1.StorageClassList{Items: make([]storagev1.StorageClass, 2)},
			func(l *storagev1.StorageClassList) { eachItem(l.Items, StorageClass) }),
		byFunc("VolumeAttachmentList", &storagev1.VolumeAttachmentList{Items: []storagev1.VolumeAttachment{attachment(), attachment()}},
			func(l *storagev1.VolumeAttachmentList) { eachItem(l.Items, VolumeAttachment) }),
		byFunc("MutatingAdmissionPolicyList", &admissionregistrationv1.MutatingAdmissionPolicyList{Items: make([]admissionregistrationv1.MutatingAdmissionPolicy, 2)},
			func(l *admissionregistrationv1.MutatingAdmissionPolicyList) {
				eachItem(l.Items, MutatingAdmissionPolicy)
			}),
		byFunc("MutatingAdmissionPolicyBindingList", &admissionregistrationv1.MutatingAdmissionPolicyBindingList{Items: []admissionregistrationv1.MutatingAdmissionPolicyBinding{mapBinding()}},
			func(l *admissionregistrationv1.MutatingAdmissionPolicyBindingList) {
				eachItem(l.Items, MutatingAdmissionPolicyBinding)
			}),
		byFunc("MutatingWebhookConfigurationList", &admissionregistrationv1.MutatingWebhookConfigurationList{Items: []admissionregistrationv1.MutatingWebhookConfiguration{{Webhooks: mutatingConfig()}}},
			func(l *admissionregistrationv1.MutatingWebhookConfigurationList) {
				eachItem(l.Items, MutatingWebhookConfiguration)
			}),
		byFunc("ValidatingAdmissionPolicyList", &admissionregistrationv1.ValidatingAdmissionPolicyList{Items: make([]admissionregistrationv1.ValidatingAdmissionPolicy, 2)},
			func(l *admissionregistrationv1.ValidatingAdmissionPolicyList) {
				eachItem(l.Items, ValidatingAdmissionPolicy)
			}),
		byFunc("ValidatingAdmissionPolicyBindingList", &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{Items: []admissionregistrationv1.ValidatingAdmissionPolicyBinding{vapBinding()}},
			func(l *admissionregistrationv1.ValidatingAdmissionPolicyBindingList) {
				eachItem(l.Items, ValidatingAdmissionPolicyBinding)
			}),
		byFunc("ValidatingWebhookConfigurationList", &admissionregistrationv1.ValidatingWebhookConfigurationList{Items: []admissionregistrationv1.ValidatingWebhookConfiguration{{Webhooks: webhookConfig()}}},
			func(l *admissionregistrationv1.ValidatingWebhookConfigurationList) {
				eachItem(l.Items, ValidatingWebhookConfiguration)
			}),
		byFunc("PodCertificateRequestList", &certificatesv1.PodCertificateRequestList{Items: make([]certificatesv1.PodCertificateRequest, 2)},
			func(l *certificatesv1.PodCertificateRequestList) { eachItem(l.Items, PodCertificateRequest) }),
	}

	s := newScheme(t) // core/v1 only
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.in.DeepCopyObject()
			s.Default(tc.in)
			if diff := cmp.Diff(before, tc.in, quantityByValue()); diff == "" {
				t.Fatalf("scheme.Default left the %s unchanged; is it registered?", tc.name)
			}
			if diff := cmp.Diff(tc.want, tc.in, quantityByValue()); diff != "" {
				t.Errorf("scheme.Default mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
