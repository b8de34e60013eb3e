package apiservice

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
)

// Reasons of the Available condition; all but ProxyNotSupported are
// upstream's.
const (
	ReasonLocal                = "Local"
	ReasonServiceNotFound      = "ServiceNotFound"
	ReasonServiceAccessError   = "ServiceAccessError"
	ReasonServicePortError     = "ServicePortError"
	ReasonEndpointsAccessError = "EndpointsAccessError"
	ReasonEndpointsNotFound    = "EndpointsNotFound"
	ReasonMissingEndpoints     = "MissingEndpoints"
	// ReasonProxyNotSupported: the Service and its endpoints are there, but
	// kubelite does not proxy to aggregated API servers.
	ReasonProxyNotSupported = "ProxyNotSupported"
)

// updateAvailability writes the Available condition s should have, when it
// differs from the stored one.
func (c *Controller) updateAvailability(ctx context.Context, s *apiregistrationv1.APIService) error {
	cond := c.availability(ctx, s)
	if old := helper.GetAPIServiceConditionByType(s, apiregistrationv1.Available); old != nil &&
		old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message {
		return nil
	}
	updated := s.DeepCopy()
	helper.SetAPIServiceCondition(updated, cond)
	klog.FromContext(ctx).V(2).Info("Changing APIService availability", "apiService", klog.KObj(s),
		"status", cond.Status, "reason", cond.Reason, "message", cond.Message)
	_, err := c.client.APIServices().UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // changed meanwhile; the informer brings it back
	}
	return err
}

// availability returns the Available condition of s: True for a local
// APIService; for one naming a Service, the first check that fails, as
// upstream orders them.
func (c *Controller) availability(ctx context.Context, s *apiregistrationv1.APIService) apiregistrationv1.APIServiceCondition {
	cond := apiregistrationv1.APIServiceCondition{
		Type:               apiregistrationv1.Available,
		Status:             apiregistrationv1.ConditionFalse,
		LastTransitionTime: metav1.NewTime(c.clock.Now()),
	}
	set := func(status apiregistrationv1.ConditionStatus, reason, format string, args ...any) apiregistrationv1.APIServiceCondition {
		cond.Status, cond.Reason, cond.Message = status, reason, fmt.Sprintf(format, args...)
		return cond
	}
	ref := s.Spec.Service
	if ref == nil {
		return set(apiregistrationv1.ConditionTrue, ReasonLocal, "Local APIServices are always available")
	}

	svc, err := c.kube.CoreV1().Services(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return set(apiregistrationv1.ConditionFalse, ReasonServiceNotFound, "service/%s in %q is not present", ref.Name, ref.Namespace)
	case err != nil:
		return set(apiregistrationv1.ConditionUnknown, ReasonServiceAccessError, "service/%s in %q cannot be checked due to: %v", ref.Name, ref.Namespace, err)
	}
	if svc.Spec.Type == corev1.ServiceTypeClusterIP {
		port := int32(443)
		if ref.Port != nil {
			port = *ref.Port
		}
		portName, found := "", false
		for _, p := range svc.Spec.Ports {
			if p.Port == port {
				portName, found = p.Name, true
				break
			}
		}
		if !found {
			return set(apiregistrationv1.ConditionFalse, ReasonServicePortError, "service/%s in %q is not listening on port %d", ref.Name, ref.Namespace, port)
		}
		slices, err := c.kube.DiscoveryV1().EndpointSlices(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + ref.Name})
		switch {
		case err != nil:
			return set(apiregistrationv1.ConditionUnknown, ReasonEndpointsAccessError, "service/%s in %q cannot be checked due to: %v", ref.Name, ref.Namespace, err)
		case len(slices.Items) == 0:
			return set(apiregistrationv1.ConditionFalse, ReasonEndpointsNotFound, "cannot find endpointslices for service/%s in %q", ref.Name, ref.Namespace)
		case !hasReadyEndpoint(portName, slices.Items):
			return set(apiregistrationv1.ConditionFalse, ReasonMissingEndpoints, "endpointslices for service/%s in %q have no addresses with port name %q", ref.Name, ref.Namespace, portName)
		}
	}
	return set(apiregistrationv1.ConditionFalse, ReasonProxyNotSupported, "kubelite does not proxy to aggregated API servers (service/%s in %q)", ref.Name, ref.Namespace)
}

// hasReadyEndpoint reports whether a slice has a ready endpoint with a port
// of the given name.
func hasReadyEndpoint(portName string, slices []discoveryv1.EndpointSlice) bool {
	for _, s := range slices {
		hasPort := false
		for _, p := range s.Ports {
			if p.Name != nil && *p.Name == portName {
				hasPort = true
				break
			}
		}
		if !hasPort {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				return true
			}
		}
	}
	return false
}
