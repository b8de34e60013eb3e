package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// handler is the union of probe and lifecycle actions; at most one is set.
type handler struct {
	exec      *corev1.ExecAction
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	grpc      *corev1.GRPCAction
	sleep     *corev1.SleepAction
}

// containerProbes validates liveness, readiness and startup probes.
func containerProbes(c *corev1.Container, grace *int64, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p := c.LivenessProbe; p != nil {
		errs = append(errs, probe(p, grace, fldPath.Child("livenessProbe"))...)
		if p.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(fldPath.Child("livenessProbe", "successThreshold"), p.SuccessThreshold, "must be 1"))
		}
	}
	if p := c.ReadinessProbe; p != nil {
		errs = append(errs, probe(p, grace, fldPath.Child("readinessProbe"))...)
		if p.TerminationGracePeriodSeconds != nil {
			errs = append(errs, field.Invalid(fldPath.Child("readinessProbe", "terminationGracePeriodSeconds"), p.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		}
	}
	if p := c.StartupProbe; p != nil {
		errs = append(errs, probe(p, grace, fldPath.Child("startupProbe"))...)
		if p.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(fldPath.Child("startupProbe", "successThreshold"), p.SuccessThreshold, "must be 1"))
		}
	}
	return errs
}

// probe validates one probe: a single handler and non-negative timings.
func probe(p *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	h := handler{exec: p.Exec, httpGet: p.HTTPGet, tcpSocket: p.TCPSocket, grpc: p.GRPC}
	errs := h.validate(grace, fldPath)
	errs = append(errs, nonNegative(int64(p.InitialDelaySeconds), fldPath.Child("initialDelaySeconds"))...)
	errs = append(errs, nonNegative(int64(p.TimeoutSeconds), fldPath.Child("timeoutSeconds"))...)
	errs = append(errs, nonNegative(int64(p.PeriodSeconds), fldPath.Child("periodSeconds"))...)
	errs = append(errs, nonNegative(int64(p.SuccessThreshold), fldPath.Child("successThreshold"))...)
	errs = append(errs, nonNegative(int64(p.FailureThreshold), fldPath.Child("failureThreshold"))...)
	if t := p.TerminationGracePeriodSeconds; t != nil && *t <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), *t, "must be greater than 0"))
	}
	return errs
}

// lifecycle validates postStart/preStop hooks and the stop signal.
func lifecycle(l *corev1.Lifecycle, pc *podContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, hook := range []struct {
		h    *corev1.LifecycleHandler
		name string
	}{{l.PostStart, "postStart"}, {l.PreStop, "preStop"}} {
		if hook.h != nil {
			h := handler{exec: hook.h.Exec, httpGet: hook.h.HTTPGet, tcpSocket: hook.h.TCPSocket, sleep: hook.h.Sleep}
			errs = append(errs, h.validate(pc.gracePeriod, fldPath.Child(hook.name))...)
		}
	}
	if l.StopSignal != nil {
		p := fldPath.Child("stopSignal")
		switch {
		case pc.os == nil:
			errs = append(errs, field.Forbidden(p, "may not be set for containers with empty `spec.os.name`"))
		case pc.os.Name == corev1.Windows && *l.StopSignal != corev1.SIGKILL && *l.StopSignal != corev1.SIGTERM:
			errs = append(errs, field.NotSupported(p, l.StopSignal, []corev1.Signal{corev1.SIGKILL, corev1.SIGTERM}))
		}
	}
	return errs
}

// validate requires exactly one action and checks it; every extra action is
// Forbidden at its own path.
func (h handler) validate(grace *int64, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	add := func(set bool, name string, check func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 handler type"))
			return
		}
		n++
		errs = append(errs, check(fldPath.Child(name))...)
	}
	add(h.exec != nil, "exec", func(p *field.Path) field.ErrorList {
		if len(h.exec.Command) == 0 {
			return field.ErrorList{field.Required(p.Child("command"), "")}
		}
		return nil
	})
	add(h.httpGet != nil, "httpGet", func(p *field.Path) field.ErrorList { return httpGet(h.httpGet, p) })
	add(h.tcpSocket != nil, "tcpSocket", func(p *field.Path) field.ErrorList { return portNumOrName(h.tcpSocket.Port, p.Child("port")) })
	add(h.grpc != nil, "grpc", func(p *field.Path) field.ErrorList {
		return portNumOrName(intstr.FromInt32(h.grpc.Port), p.Child("port"))
	})
	add(h.sleep != nil, "sleep", func(p *field.Path) field.ErrorList {
		if grace != nil && (h.sleep.Seconds < 0 || h.sleep.Seconds > *grace) {
			return field.ErrorList{field.Invalid(p, h.sleep.Seconds, fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *grace))}
		}
		return nil
	})
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a handler type"))
	}
	return errs
}

// httpGet validates an HTTP probe or hook.
func httpGet(h *corev1.HTTPGetAction, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, portNumOrName(h.Port, fldPath.Child("port"))...)
	if h.Scheme != corev1.URISchemeHTTP && h.Scheme != corev1.URISchemeHTTPS {
		errs = append(errs, field.NotSupported(fldPath.Child("scheme"), h.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
	}
	for _, hdr := range h.HTTPHeaders {
		errs = append(errs, msgs(fldPath.Child("httpHeaders"), hdr.Name, utilvalidation.IsHTTPHeaderName(hdr.Name))...)
	}
	return errs
}

// portNumOrName checks a port given as number or IANA name.
func portNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if port.Type == intstr.String {
		return msgs(fldPath, port.StrVal, isPortName(port.StrVal))
	}
	return msgs(fldPath, port.IntValue(), utilvalidation.IsValidPortNum(port.IntValue()))
}
