package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// defaultContainer defaults one container of a pod spec (init, regular or
// ephemeral):
//   - imagePullPolicy from the image, see pullPolicy;
//   - terminationMessagePath /dev/termination-log and
//     terminationMessagePolicy File;
//   - port protocol TCP;
//   - env fieldRef apiVersion v1 and fileKeyRef optional false;
//   - resources rounded up to milli precision;
//   - liveness, readiness and startup probes, see defaultProbe;
//   - httpGet path and scheme of the postStart and preStop handlers.
func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = pullPolicy(c.Image)
	}
	setIfEmpty(&c.TerminationMessagePath, corev1.TerminationMessagePathDefault)
	setIfEmpty(&c.TerminationMessagePolicy, corev1.TerminationMessageReadFile)

	for i := range c.Ports {
		setIfEmpty(&c.Ports[i].Protocol, corev1.ProtocolTCP)
	}
	for i := range c.Env {
		from := c.Env[i].ValueFrom
		if from == nil {
			continue
		}
		if from.FieldRef != nil {
			defaultFieldSelector(from.FieldRef)
		}
		if from.FileKeyRef != nil {
			setIfNil(&from.FileKeyRef.Optional, false)
		}
	}
	roundRequirements(&c.Resources)

	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			defaultProbe(p)
		}
	}
	if c.Lifecycle != nil {
		for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h != nil && h.HTTPGet != nil {
				defaultHTTPGet(h.HTTPGet)
			}
		}
	}
}

// defaultProbe sets timeoutSeconds 1, periodSeconds 10, successThreshold 1
// and failureThreshold 3 where they are zero, path "/" and scheme HTTP on an
// httpGet handler, and an empty service name on a grpc handler.
func defaultProbe(p *corev1.Probe) {
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HTTPGet != nil {
		defaultHTTPGet(p.HTTPGet)
	}
	if p.GRPC != nil {
		setIfNil(&p.GRPC.Service, "")
	}
}

// defaultHTTPGet sets path "/" and scheme HTTP when they are empty.
func defaultHTTPGet(a *corev1.HTTPGetAction) {
	setIfEmpty(&a.Path, "/")
	setIfEmpty(&a.Scheme, corev1.URISchemeHTTP)
}

// defaultFieldSelector sets apiVersion v1 when it is empty.
func defaultFieldSelector(s *corev1.ObjectFieldSelector) {
	setIfEmpty(&s.APIVersion, "v1")
}
