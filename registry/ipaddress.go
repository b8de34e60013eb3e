package registry

import (
	"context"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"
)

// ipAllocatorName marks the IPAddress objects the cluster IP allocator owns,
// as upstream's allocator does.
const ipAllocatorName = "ipallocator.k8s.io"

var ipAddressesResource = schema.GroupResource{Group: networkingv1.GroupName, Resource: "ipaddresses"}

// ipAddresses records each allocated cluster IP as an IPAddress object whose
// parent is the Service, so that clients see which Service holds an address.
// The allocator's own state stays the source of truth: a failure to write an
// object is logged, and the objects are reconciled with the Services each
// time the server starts.
type ipAddresses struct {
	env *Env
}

// store is the ipaddresses store, or nil where that resource is not served.
func (r ipAddresses) store() *genericregistry.Store {
	return r.env.stores[ipAddressesResource]
}

// clusterScoped returns ctx for a call on the cluster-scoped store: the
// Service request's namespace, or none at start, replaced by the empty one.
func clusterScoped(ctx context.Context) context.Context {
	return genericapirequest.WithNamespace(ctx, metav1.NamespaceNone)
}

func serviceParent(svc *corev1.Service) *networkingv1.ParentReference {
	return &networkingv1.ParentReference{Resource: "services", Namespace: svc.Namespace, Name: svc.Name}
}

func ipFamilyLabel(ip net.IP) string {
	if ip.To4() != nil {
		return string(corev1.IPv4Protocol)
	}
	return string(corev1.IPv6Protocol)
}

// record writes the IPAddress of ip, held by svc.
func (r ipAddresses) record(ctx context.Context, ip net.IP, svc *corev1.Service) {
	store := r.store()
	if store == nil {
		return
	}
	obj := &networkingv1.IPAddress{
		ObjectMeta: metav1.ObjectMeta{
			Name: ip.String(),
			Labels: map[string]string{
				networkingv1.LabelIPAddressFamily: ipFamilyLabel(ip),
				networkingv1.LabelManagedBy:       ipAllocatorName,
			},
		},
		Spec: networkingv1.IPAddressSpec{ParentRef: serviceParent(svc)},
	}
	_, err := store.Create(clusterScoped(ctx), obj, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	if err != nil {
		klog.FromContext(ctx).Error(err, "record cluster IP", "ip", obj.Name, "service", klog.KObj(svc))
	}
}

// forget deletes the IPAddress of ip if the allocator made it.
func (r ipAddresses) forget(ctx context.Context, ip net.IP) {
	store := r.store()
	if store == nil {
		return
	}
	name := ip.String()
	ctx = clusterScoped(ctx)
	obj, err := store.Get(ctx, name, &metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err == nil {
		cur := obj.(*networkingv1.IPAddress)
		if cur.Labels[networkingv1.LabelManagedBy] != ipAllocatorName {
			return
		}
		pre := &metav1.Preconditions{UID: &cur.UID}
		_, _, err = store.Delete(ctx, name, rest.ValidateAllObjectFunc, &metav1.DeleteOptions{Preconditions: pre})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "forget cluster IP", "ip", name)
	}
}

// forgetLater is forget for callers without a context (AfterDelete).
func (r ipAddresses) forgetLater(ip net.IP) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.forget(ctx, ip)
}

// reconcile makes the allocator's IPAddress objects match held, the cluster
// IPs of the stored Services: missing ones are written, those of Services
// that are gone deleted.
func (r ipAddresses) reconcile(ctx context.Context, held map[string]*corev1.Service) error {
	store := r.store()
	if store == nil {
		return nil
	}
	sel := labels.SelectorFromSet(labels.Set{networkingv1.LabelManagedBy: ipAllocatorName})
	obj, err := store.List(clusterScoped(ctx), &metainternalversion.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("list IP addresses: %w", err)
	}
	have := map[string]bool{}
	for i := range obj.(*networkingv1.IPAddressList).Items {
		ip := &obj.(*networkingv1.IPAddressList).Items[i]
		svc, ok := held[ip.Name]
		if ok && *ip.Spec.ParentRef == *serviceParent(svc) {
			have[ip.Name] = true
			continue
		}
		r.forget(ctx, net.ParseIP(ip.Name))
	}
	for name, svc := range held {
		if !have[name] {
			r.record(ctx, net.ParseIP(name), svc)
		}
	}
	return nil
}
