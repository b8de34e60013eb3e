// Package defaults fills in the default values that a Kubernetes 1.37
// kube-apiserver sets on the objects it decodes: core/v1, apps/v1, batch/v1,
// autoscaling/v1 and v2, networking.k8s.io/v1, discovery.k8s.io/v1,
// rbac.authorization.k8s.io/v1, scheduling.k8s.io/v1, storage.k8s.io/v1,
// admissionregistration.k8s.io/v1 and certificates.k8s.io/v1. policy/v1,
// events.k8s.io/v1, coordination.k8s.io/v1 and node.k8s.io/v1 have no
// defaults upstream, so nothing here handles them.
//
// Each exported function defaults one object in place and is safe to call
// more than once: a field that is already set is never changed, except where
// upstream Kubernetes rewrites it too (a negative pod grace period becomes 1,
// resource quantities are rounded up to milli precision, and the deprecated
// serviceAccount field mirrors serviceAccountName).
//
// AddToScheme registers these functions with a runtime.Scheme so that every
// codec built from that scheme defaults what it decodes:
//
//	scheme := runtime.NewScheme()
//	_ = corev1.AddToScheme(scheme)
//	_ = defaults.AddToScheme(scheme)
//	codecs := serializer.NewCodecFactory(scheme)
//	obj, _, err := codecs.UniversalDecoder(corev1.SchemeGroupVersion).Decode(data, nil, nil)
//
// Workload APIs that embed a pod template (apps/v1, batch/v1) reuse
// PodTemplateSpec and PersistentVolumeClaim so their templates are defaulted
// exactly like core/v1 ones.
//
// Exported functions are named after the kind they default; where two groups
// share a kind, the older version gets a suffix (HorizontalPodAutoscaler is
// autoscaling/v2, HorizontalPodAutoscalerV1 autoscaling/v1).
//
// Feature-gated defaults follow the gates' 1.37 defaults: image volumes get a
// pull policy (ImageVolume, GA); HTTP probes get no protocol (H2CContainerProbe,
// alpha and off); pod log options get no stream (PodLogsQuerySplitStreams,
// alpha and off); stateful sets get rollingUpdate.maxUnavailable 1
// (MaxUnavailableStatefulSet, beta and on); CSI drivers get seLinuxMount and
// preventPodSchedulingIfMissing false (SELinuxMountReadWriteOncePod, GA;
// VolumeLimitScaling, beta and on). Pod-level resource requests and limits
// are not defaulted here: with PodLevelResourcesFixDefaulting on (beta,
// default on in 1.37) upstream moved that step out of decoding and into the
// pod registry's PrepareForCreate.
package defaults
