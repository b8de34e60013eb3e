package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// PodSpec defaults a pod spec and everything inside it:
//   - serviceAccountName is taken from the deprecated serviceAccount when
//     empty, and serviceAccount is then set to serviceAccountName;
//   - dnsPolicy ClusterFirst, restartPolicy Always, schedulerName
//     default-scheduler, terminationGracePeriodSeconds 30 and an empty
//     securityContext when unset;
//   - every volume, as described at defaultVolume;
//   - every init, regular and ephemeral container, as described at
//     defaultContainer;
//   - overhead and pod-level resources are rounded up to milli precision.
//
// It is what pod templates get; Pod adds the pod-only defaults on top.
func PodSpec(spec *corev1.PodSpec) {
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName
	setIfEmpty(&spec.DNSPolicy, corev1.DNSClusterFirst)
	setIfEmpty(&spec.RestartPolicy, corev1.RestartPolicyAlways)
	setIfNil(&spec.SecurityContext, corev1.PodSecurityContext{})
	setIfNil(&spec.TerminationGracePeriodSeconds, int64(corev1.DefaultTerminationGracePeriodSeconds))
	setIfEmpty(&spec.SchedulerName, corev1.DefaultSchedulerName)

	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		// EphemeralContainerCommon has exactly Container's fields, so it
		// converts and is defaulted the same way.
		defaultContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}

	roundResources(spec.Overhead)
	roundRequirements(spec.Resources)
}
