package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Pod defaults a pod: everything PodSpec defaults, plus the defaults that
// upstream applies only to pods and never to pod templates:
//   - a negative terminationGracePeriodSeconds becomes 1;
//   - each container and init container without a request for a resource it
//     limits gets a request equal to that limit;
//   - enableServiceLinks defaults to true;
//   - with hostNetwork, each container and init container port without a
//     hostPort gets hostPort = containerPort;
//   - status.podIP and status.podIPs are kept consistent, podIP winning.
func Pod(p *corev1.Pod) {
	spec := &p.Spec
	if spec.TerminationGracePeriodSeconds != nil && *spec.TerminationGracePeriodSeconds < 0 {
		spec.TerminationGracePeriodSeconds = new(int64(1))
	}
	for i := range spec.Containers {
		requestsFromLimits(&spec.Containers[i].Resources)
	}
	for i := range spec.InitContainers {
		requestsFromLimits(&spec.InitContainers[i].Resources)
	}
	setIfNil(&spec.EnableServiceLinks, corev1.DefaultEnableServiceLinks)
	if spec.HostNetwork {
		hostNetworkPorts(spec.Containers)
		hostNetworkPorts(spec.InitContainers)
	}

	PodSpec(spec)
	podStatus(&p.Status)
}

// hostNetworkPorts sets hostPort = containerPort on every port that has no
// hostPort, since a pod on the host network listens on the host directly.
func hostNetworkPorts(containers []corev1.Container) {
	for i := range containers {
		ports := containers[i].Ports
		for j := range ports {
			if ports[j].HostPort == 0 {
				ports[j].HostPort = ports[j].ContainerPort
			}
		}
	}
}

// podStatus keeps podIP and podIPs in step and rounds the resource
// quantities reported in the status.
func podStatus(st *corev1.PodStatus) {
	switch {
	case st.PodIP != "" && len(st.PodIPs) == 0:
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	case st.PodIP == "" && len(st.PodIPs) > 0:
		st.PodIP = st.PodIPs[0].IP
	case st.PodIP != "" && st.PodIPs[0].IP != st.PodIP:
		// Older kubelets only set podIP, so it is authoritative.
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}

	for _, statuses := range [][]corev1.ContainerStatus{
		st.InitContainerStatuses, st.ContainerStatuses, st.EphemeralContainerStatuses,
	} {
		for i := range statuses {
			roundResources(statuses[i].AllocatedResources)
			roundRequirements(statuses[i].Resources)
		}
	}
	roundResources(st.AllocatedResources)
	roundRequirements(st.Resources)
}

// PodTemplate defaults the pod template held by a PodTemplate object.
func PodTemplate(t *corev1.PodTemplate) {
	PodTemplateSpec(&t.Template)
}

// PodTemplateSpec defaults a pod template the way upstream defaults the
// templates of pod templates, replication controllers and the apps/v1 and
// batch/v1 workloads: exactly PodSpec. The pod-only defaults of Pod are left
// for when a pod is created from the template.
func PodTemplateSpec(t *corev1.PodTemplateSpec) {
	PodSpec(&t.Spec)
}
