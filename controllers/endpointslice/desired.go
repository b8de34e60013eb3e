package endpointslice

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/controllers/internal/servicepods"
)

// group is the desired endpoints of one address type that serve one set of
// ports: the content of one or more slices.
type group struct {
	addressType discoveryv1.AddressType
	ports       []discoveryv1.EndpointPort
	endpoints   map[string]discoveryv1.Endpoint // by endpointKey
}

// desired holds, per address type of the Service, its groups by portsKey.
type desired map[discoveryv1.AddressType]map[string]*group

// addressTypes returns the slice address types of svc's IP families.
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range servicepods.Families(svc) {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, discoveryv1.AddressTypeIPv4)
		case corev1.IPv6Protocol:
			out = append(out, discoveryv1.AddressTypeIPv6)
		}
	}
	return out
}

func family(t discoveryv1.AddressType) corev1.IPFamily {
	if t == discoveryv1.AddressTypeIPv6 {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// want works out the endpoints svc should have from pods. A pod whose node
// is not (yet) known is left out, unless the Service publishes not-ready
// addresses, and reported in the error so that the Service is synced again.
func want(logger klog.Logger, svc *corev1.Service, pods []*corev1.Pod, nodes corelisters.NodeLister) (desired, error) {
	d := desired{}
	types := addressTypes(svc)
	for _, t := range types {
		d[t] = map[string]*group{}
	}
	var errs []error
	for _, pod := range pods {
		if !servicepods.Included(pod, true) {
			continue
		}
		var node *corev1.Node
		if pod.Spec.NodeName != "" {
			n, err := nodes.Get(pod.Spec.NodeName)
			switch {
			case err == nil:
				node = n
			case !apierrors.IsNotFound(err):
				return nil, err
			case !svc.Spec.PublishNotReadyAddresses:
				logger.V(2).Info("Skipping pod on unknown node", "pod", klog.KObj(pod), "node", pod.Spec.NodeName)
				errs = append(errs, fmt.Errorf("pod %s/%s: node %s not found", pod.Namespace, pod.Name, pod.Spec.NodeName))
				continue
			}
		}
		ports := endpointPorts(logger, svc, pod)
		pk := portsKey(ports)
		for _, t := range types {
			ip := servicepods.IP(pod, family(t))
			if ip == "" {
				continue
			}
			g := d[t][pk]
			if g == nil {
				g = &group{addressType: t, ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
				d[t][pk] = g
			}
			ep := endpoint(svc, pod, node, ip)
			g.endpoints[endpointKey(ep)] = ep
		}
	}
	return d, errors.Join(errs...)
}

// endpoint returns the endpoint of a pod at ip. Serving is the pod's
// readiness; terminating whether it is being deleted; ready is serving and
// not terminating, or always with publishNotReadyAddresses.
func endpoint(svc *corev1.Service, pod *corev1.Pod, node *corev1.Node, ip string) discoveryv1.Endpoint {
	serving := servicepods.Ready(pod)
	terminating := pod.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses: []string{ip},
		Conditions: discoveryv1.EndpointConditions{
			Ready: ptr.To(ready), Serving: ptr.To(serving), Terminating: ptr.To(terminating),
		},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		ep.NodeName = ptr.To(pod.Spec.NodeName)
	}
	if node != nil && node.Labels[corev1.LabelTopologyZone] != "" {
		ep.Zone = ptr.To(node.Labels[corev1.LabelTopologyZone])
	}
	if h := servicepods.Hostname(pod, svc); h != "" {
		ep.Hostname = ptr.To(h)
	}
	return ep
}

// endpointPorts resolves svc's ports for pod; ports that do not resolve are
// left out. A headless Service without ports has none.
func endpointPorts(logger klog.Logger, svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	ports := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, err := servicepods.Port(pod, sp)
		if err != nil {
			logger.V(4).Info("Port does not resolve", "service", klog.KObj(svc), "err", err)
			continue
		}
		ports = append(ports, discoveryv1.EndpointPort{
			Name: ptr.To(sp.Name), Port: ptr.To(n), Protocol: ptr.To(sp.Protocol), AppProtocol: sp.AppProtocol,
		})
	}
	return ports
}

// endpointKey identifies an endpoint within a group: its pod, or its
// address when it names none.
func endpointKey(ep discoveryv1.Endpoint) string {
	if ep.TargetRef != nil && ep.TargetRef.UID != "" {
		return string(ep.TargetRef.UID)
	}
	return strings.Join(ep.Addresses, ",")
}

// portsKey identifies a set of ports, in order.
func portsKey(ports []discoveryv1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%s/%s,", ptr.Deref(p.Name, ""), ptr.Deref(p.Port, 0),
			ptr.Deref(p.Protocol, ""), ptr.Deref(p.AppProtocol, ""))
	}
	return b.String()
}

// sliceLabels returns the labels of svc's slices: the Service's own, except
// the reserved keys, plus service name, manager and the headless marker.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+3)
	for k, v := range svc.Labels {
		if k == discoveryv1.LabelServiceName || k == discoveryv1.LabelManagedBy || k == corev1.IsHeadlessService {
			continue
		}
		out[k] = v
	}
	if servicepods.Headless(svc) {
		out[corev1.IsHeadlessService] = ""
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = ControllerName
	return out
}
