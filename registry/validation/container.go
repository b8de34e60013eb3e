package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podContext is what container validation needs to know about its pod.
type podContext struct {
	volumes     map[string]corev1.VolumeSource // valid volumes by name
	claims      map[string]bool                // pod resource claim names
	gracePeriod *int64                         // spec.terminationGracePeriodSeconds
	os          *corev1.PodOS                  // spec.os
	hostUsers   bool                           // spec.hostUsers (default true)
}

// containers validates spec.containers: at least one, unique names, per
// container rules, probes and lifecycle, and host port conflicts.
func containers(list []corev1.Container, pc *podContext, fldPath *field.Path) field.ErrorList {
	if len(list) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range list {
		c := &list[i]
		idx := fldPath.Index(i)
		errs = append(errs, containerCommon(c, pc, idx)...)
		if names[c.Name] {
			errs = append(errs, field.Duplicate(idx.Child("name"), c.Name))
		}
		names[c.Name] = true
		if c.Lifecycle != nil {
			errs = append(errs, lifecycle(c.Lifecycle, pc, idx.Child("lifecycle"))...)
		}
		errs = append(errs, containerProbes(c, pc.gracePeriod, idx)...)
		if c.RestartPolicy != nil {
			errs = append(errs, oneOf(*c.RestartPolicy, []corev1.ContainerRestartPolicy{
				corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyOnFailure, corev1.ContainerRestartPolicyNever,
			}, idx.Child("restartPolicy"))...)
		}
	}
	return append(errs, hostPortConflicts(list, fldPath)...)
}

// initContainers validates spec.initContainers. Names must be unique across
// init and regular containers; probes and lifecycle are only allowed for
// restartable (sidecar) init containers.
func initContainers(list, regular []corev1.Container, pc *podContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range regular {
		names[c.Name] = true
	}
	for i := range list {
		c := &list[i]
		idx := fldPath.Index(i)
		errs = append(errs, containerCommon(c, pc, idx)...)
		sidecar := false
		if c.RestartPolicy != nil {
			sidecar = *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
			errs = append(errs, oneOf(*c.RestartPolicy, []corev1.ContainerRestartPolicy{
				corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyOnFailure, corev1.ContainerRestartPolicyNever,
			}, idx.Child("restartPolicy"))...)
		}
		if names[c.Name] {
			errs = append(errs, field.Duplicate(idx.Child("name"), c.Name))
		} else if c.Name != "" {
			names[c.Name] = true
		}
		errs = append(errs, hostPortConflicts(list[i:i+1], fldPath)...)
		if sidecar {
			if c.Lifecycle != nil {
				errs = append(errs, lifecycle(c.Lifecycle, pc, idx.Child("lifecycle"))...)
			}
			errs = append(errs, containerProbes(c, pc.gracePeriod, idx)...)
			continue
		}
		const msg = "may not be set for init containers without restartPolicy=Always"
		for _, p := range []struct {
			set  bool
			name string
		}{
			{c.Lifecycle != nil, "lifecycle"}, {c.LivenessProbe != nil, "livenessProbe"},
			{c.ReadinessProbe != nil, "readinessProbe"}, {c.StartupProbe != nil, "startupProbe"},
		} {
			if p.set {
				errs = append(errs, field.Forbidden(idx.Child(p.name), msg))
			}
		}
	}
	return errs
}

// containerCommon applies the rules shared by every container type.
func containerCommon(c *corev1.Container, pc *podContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		errs = append(errs, dnsLabel(c.Name, fldPath.Child("name"))...)
	}
	if c.Image == "" {
		errs = append(errs, field.Required(fldPath.Child("image"), ""))
	}
	errs = append(errs, oneOf(c.TerminationMessagePolicy, []corev1.TerminationMessagePolicy{
		corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError,
	}, fldPath.Child("terminationMessagePolicy"))...)
	errs = append(errs, containerPorts(c.Ports, fldPath.Child("ports"))...)
	errs = append(errs, env(c.Env, fldPath.Child("env"))...)
	errs = append(errs, envFrom(c.EnvFrom, fldPath.Child("envFrom"))...)
	errs = append(errs, volumeMounts(c, pc.volumes, fldPath.Child("volumeMounts"))...)
	errs = append(errs, volumeDevices(c, pc.volumes, fldPath.Child("volumeDevices"))...)
	errs = append(errs, pullPolicy(c.ImagePullPolicy, fldPath.Child("imagePullPolicy"))...)
	errs = append(errs, resourceRequirements(&c.Resources, pc.claims, fldPath.Child("resources"))...)
	errs = append(errs, resizePolicy(c.ResizePolicy, fldPath.Child("resizePolicy"))...)
	return append(errs, containerSecurityContext(c.SecurityContext, pc.hostUsers, fldPath.Child("securityContext"))...)
}

// imageWhitespace is the pod-only check that an image has no surrounding
// whitespace (templates tolerate it for compatibility).
func imageWhitespace(list []corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range list {
		if len(strings.TrimSpace(c.Image)) != len(c.Image) {
			errs = append(errs, field.Invalid(fldPath.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
	}
	return errs
}

// pullPolicy checks imagePullPolicy (defaulted, so empty is Required).
func pullPolicy(p corev1.PullPolicy, fldPath *field.Path) field.ErrorList {
	return oneOf(p, []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}, fldPath)
}

// containerPorts validates names (IANA service names, unique), port numbers
// and protocols.
func containerPorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		idx := fldPath.Index(i)
		if p.Name != "" {
			if m := isPortName(p.Name); len(m) > 0 {
				errs = append(errs, msgs(idx.Child("name"), p.Name, m)...)
			} else if names[p.Name] {
				errs = append(errs, field.Duplicate(idx.Child("name"), p.Name))
			} else {
				names[p.Name] = true
			}
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(idx.Child("containerPort"), ""))
		} else {
			errs = append(errs, portNum(p.ContainerPort, idx.Child("containerPort"))...)
		}
		if p.HostPort != 0 {
			errs = append(errs, portNum(p.HostPort, idx.Child("hostPort"))...)
		}
		errs = append(errs, protocol(p.Protocol, idx.Child("protocol"))...)
	}
	return errs
}

// protocol checks a defaulted port protocol.
func protocol(p corev1.Protocol, fldPath *field.Path) field.ErrorList {
	return oneOf(p, []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}, fldPath)
}

// hostPortConflicts reports the same protocol/hostIP/hostPort used twice.
func hostPortConflicts(list []corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for ci, c := range list {
		for pi, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", p.Protocol, p.HostIP, p.HostPort)
			if seen[key] {
				errs = append(errs, field.Duplicate(fldPath.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen[key] = true
		}
	}
	return errs
}

// resizePolicy checks in-place resize policies: cpu/memory only, once each.
func resizePolicy(list []corev1.ContainerResizePolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.ResourceName]bool{}
	for i, p := range list {
		if seen[p.ResourceName] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), p.ResourceName))
		}
		seen[p.ResourceName] = true
		switch p.ResourceName {
		case corev1.ResourceCPU, corev1.ResourceMemory:
		case "":
			errs = append(errs, field.Required(fldPath, ""))
		default:
			errs = append(errs, field.NotSupported(fldPath, p.ResourceName, []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}))
		}
		switch p.RestartPolicy {
		case corev1.NotRequired, corev1.RestartContainer:
		case "":
			errs = append(errs, field.Required(fldPath, ""))
		default:
			errs = append(errs, field.NotSupported(fldPath, p.RestartPolicy, []corev1.ResourceResizeRestartPolicy{corev1.NotRequired, corev1.RestartContainer}))
		}
	}
	return errs
}
