package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/util/dryrun"
	"k8s.io/klog/v2"
)

// serviceAllocations hands out cluster IPs and node ports. It is rebuilt from the
// stored services when the server starts; creates wait for that. Each cluster
// IP it hands out is also recorded as an IPAddress object.
type serviceAllocations struct {
	objects  ipAddresses
	ips      *ipRange
	ipAlloc  *allocator
	portBase int
	ports    *allocator
	loaded   chan struct{}
	loadOnce sync.Once
}

func serviceHooks(env *Env, store *genericregistry.Store) (Hooks, error) {
	if env.ServiceCIDR == nil {
		return Hooks{}, errors.New("no service CIDR")
	}
	r, err := newIPRange(env.ServiceCIDR)
	if err != nil {
		return Hooks{}, err
	}
	if env.NodePorts.Size <= 0 {
		return Hooks{}, errors.New("empty node port range")
	}
	seed := uint64(time.Now().UnixNano())
	a := &serviceAllocations{
		objects:  ipAddresses{env: env},
		ips:      r,
		ipAlloc:  newAllocator(r.size, 1, seed),
		portBase: env.NodePorts.Base,
		ports:    newAllocator(env.NodePorts.Size, 0, seed+1),
		loaded:   make(chan struct{}),
	}
	return Hooks{
		BeginCreate: a.beginCreate,
		BeginUpdate: a.beginUpdate,
		AfterDelete: a.afterDelete,
		Start:       func(ctx context.Context) error { return a.load(ctx, store) },
	}, nil
}

// load marks what the stored services hold, then brings the IPAddress
// objects in line with it. The list is served from the watch cache, which
// answers 429 until its first list from etcd is in: wait for that.
func (a *serviceAllocations) load(ctx context.Context, store *genericregistry.Store) error {
	var obj runtime.Object
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var err error
		obj, err = store.List(ctx, &metainternalversion.ListOptions{})
		if apierrors.IsTooManyRequests(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	held := map[string]*corev1.Service{}
	for i := range obj.(*corev1.ServiceList).Items {
		svc := &obj.(*corev1.ServiceList).Items[i]
		for _, ip := range svc.Spec.ClusterIPs {
			if o, ok := a.ips.offset(net.ParseIP(ip)); ok && a.ipAlloc.allocate(o) == nil {
				held[a.ips.ip(o).String()] = svc
			}
		}
		for _, p := range nodePorts(svc) {
			_ = a.ports.allocate(p - a.portBase)
		}
	}
	a.loadOnce.Do(func() { close(a.loaded) })
	if err := a.objects.reconcile(ctx, held); err != nil {
		klog.FromContext(ctx).Error(err, "reconcile IP addresses with services")
	}
	return nil
}

func (a *serviceAllocations) wait(ctx context.Context) error {
	select {
	case <-a.loaded:
		return nil
	case <-ctx.Done():
		return apierrors.NewServiceUnavailable("service allocations are not loaded yet")
	}
}

// txn collects what one write allocated and what it frees on success.
type txn struct {
	a        *serviceAllocations
	svc      *corev1.Service
	ips      []int
	ports    []int
	freeIPs  []int
	freePort []int
}

func (t *txn) finish(ctx context.Context, success bool, dryRun bool) {
	if !success || dryRun {
		for _, o := range t.ips {
			t.a.ipAlloc.release(o)
		}
		for _, o := range t.ports {
			t.a.ports.release(o)
		}
		return
	}
	for _, o := range t.freeIPs {
		t.a.ipAlloc.release(o)
		t.a.objects.forget(ctx, t.a.ips.ip(o))
	}
	for _, o := range t.freePort {
		t.a.ports.release(o)
	}
	for _, o := range t.ips {
		t.a.objects.record(ctx, t.a.ips.ip(o), t.svc)
	}
}

func (a *serviceAllocations) beginCreate(ctx context.Context, obj runtime.Object, options *metav1.CreateOptions) (genericregistry.FinishFunc, error) {
	if err := a.wait(ctx); err != nil {
		return nil, err
	}
	svc := obj.(*corev1.Service)
	t := &txn{a: a, svc: svc}
	if err := t.allocate(svc, nil); err != nil {
		t.finish(ctx, false, false)
		return nil, err
	}
	dry := dryrun.IsDryRun(options.DryRun)
	return func(ctx context.Context, success bool) { t.finish(ctx, success, dry) }, nil
}

func (a *serviceAllocations) beginUpdate(ctx context.Context, obj, old runtime.Object, options *metav1.UpdateOptions) (genericregistry.FinishFunc, error) {
	if err := a.wait(ctx); err != nil {
		return nil, err
	}
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	t := &txn{a: a, svc: svc}
	if err := t.allocate(svc, oldSvc); err != nil {
		t.finish(ctx, false, false)
		return nil, err
	}
	dry := dryrun.IsDryRun(options.DryRun)
	return func(ctx context.Context, success bool) { t.finish(ctx, success, dry) }, nil
}

func (a *serviceAllocations) afterDelete(obj runtime.Object, options *metav1.DeleteOptions) {
	if dryrun.IsDryRun(options.DryRun) {
		return
	}
	svc := obj.(*corev1.Service)
	for _, ip := range svc.Spec.ClusterIPs {
		if o, ok := a.ips.offset(net.ParseIP(ip)); ok {
			a.ipAlloc.release(o)
			a.objects.forgetLater(a.ips.ip(o))
		}
	}
	for _, p := range nodePorts(svc) {
		a.ports.release(p - a.portBase)
	}
}

// allocate gives svc the cluster IP and node ports its type needs, keeping those
// of old (nil on create) and freeing, on success, those old had and svc no longer
// uses.
func (t *txn) allocate(svc, old *corev1.Service) error {
	a := t.a
	var oldIPs []string
	if old != nil {
		oldIPs = old.Spec.ClusterIPs
	}
	ipPath := field.NewPath("spec", "clusterIPs").Index(0)
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
		svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy = nil, nil
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
	case old != nil && len(oldIPs) > 0 && oldIPs[0] != corev1.ClusterIPNone && (svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == oldIPs[0]):
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = oldIPs[0], oldIPs
	case svc.Spec.ClusterIP != "":
		ip := net.ParseIP(svc.Spec.ClusterIP)
		o, ok := a.ips.offset(ip)
		if !ok {
			return invalidService(svc, field.Invalid(ipPath, svc.Spec.ClusterIP,
				fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", svc.Spec.ClusterIP, svc.Spec.ClusterIP, a.ips.cidr)))
		}
		if err := a.ipAlloc.allocate(o); err != nil {
			return invalidService(svc, field.Invalid(ipPath, svc.Spec.ClusterIP,
				fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", svc.Spec.ClusterIP)))
		}
		t.ips = append(t.ips, o)
		svc.Spec.ClusterIPs = []string{ip.String()}
	default:
		o, err := a.ipAlloc.next()
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: %w", err))
		}
		t.ips = append(t.ips, o)
		svc.Spec.ClusterIP = a.ips.ip(o).String()
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	if svc.Spec.Type != corev1.ServiceTypeExternalName {
		if len(svc.Spec.IPFamilies) == 0 {
			fam := corev1.IPv4Protocol
			if a.ips.cidr.IP.To4() == nil {
				fam = corev1.IPv6Protocol
			}
			svc.Spec.IPFamilies = []corev1.IPFamily{fam}
		}
		if svc.Spec.IPFamilyPolicy == nil {
			p := corev1.IPFamilyPolicySingleStack
			svc.Spec.IPFamilyPolicy = &p
		}
	}
	if old != nil {
		keep := map[string]bool{}
		for _, ip := range svc.Spec.ClusterIPs {
			keep[ip] = true
		}
		for _, ip := range oldIPs {
			if o, ok := a.ips.offset(net.ParseIP(ip)); ok && !keep[ip] {
				t.freeIPs = append(t.freeIPs, o)
			}
		}
	}
	return t.allocatePorts(svc, old)
}

func (t *txn) allocatePorts(svc, old *corev1.Service) error {
	a := t.a
	had := map[int]bool{}
	if old != nil {
		for _, p := range nodePorts(old) {
			had[p] = true
		}
	}
	wants := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.AllocateLoadBalancerNodePorts != nil && !*svc.Spec.AllocateLoadBalancerNodePorts {
		wants = false
	}
	claim := func(p *int32, path *field.Path) error {
		if *p == 0 {
			if !wants {
				return nil
			}
			o, err := a.ports.next()
			if err != nil {
				return apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: %w", err))
			}
			t.ports = append(t.ports, o)
			*p = int32(a.portBase + o)
			return nil
		}
		if had[int(*p)] {
			return nil
		}
		if err := a.ports.allocate(int(*p) - a.portBase); err != nil {
			msg := "provided port is already allocated"
			if errors.Is(err, ErrNotInRange) {
				msg = fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", a.portBase, a.portBase+a.ports.size-1)
			}
			return invalidService(svc, field.Invalid(path, *p, msg))
		}
		t.ports = append(t.ports, int(*p)-a.portBase)
		return nil
	}
	seen := map[int32]bool{}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i].NodePort
		if *p != 0 && seen[*p] {
			continue // the same port for two protocols
		}
		if err := claim(p, field.NewPath("spec", "ports").Index(i).Child("nodePort")); err != nil {
			return err
		}
		seen[*p] = true
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		if err := claim(&svc.Spec.HealthCheckNodePort, field.NewPath("spec", "healthCheckNodePort")); err != nil {
			return err
		}
	}
	keep := map[int]bool{}
	for _, p := range nodePorts(svc) {
		keep[p] = true
	}
	for p := range had {
		if !keep[p] {
			t.freePort = append(t.freePort, p-a.portBase)
		}
	}
	return nil
}

// nodePorts lists the node ports a service holds.
func nodePorts(svc *corev1.Service) []int {
	var out []int
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			out = append(out, int(p.NodePort))
		}
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		out = append(out, int(svc.Spec.HealthCheckNodePort))
	}
	return out
}

func invalidService(svc *corev1.Service, errs ...*field.Error) error {
	return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
}

// prepareServiceUpdate keeps what the server allocated when an update leaves it
// out (a replace from a file without clusterIP or nodePort).
func prepareServiceUpdate(obj, old runtime.Object) {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	needsIP := func(s *corev1.Service) bool { return s.Spec.Type != corev1.ServiceTypeExternalName }
	if needsIP(svc) && needsIP(oldSvc) {
		if svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 {
			svc.Spec.ClusterIP = oldSvc.Spec.ClusterIP
			svc.Spec.ClusterIPs = oldSvc.Spec.ClusterIPs
		} else if len(svc.Spec.ClusterIPs) == 0 && svc.Spec.ClusterIP == oldSvc.Spec.ClusterIP {
			svc.Spec.ClusterIPs = oldSvc.Spec.ClusterIPs
		}
		if len(svc.Spec.IPFamilies) == 0 {
			svc.Spec.IPFamilies = oldSvc.Spec.IPFamilies
		}
		if svc.Spec.IPFamilyPolicy == nil {
			svc.Spec.IPFamilyPolicy = oldSvc.Spec.IPFamilyPolicy
		}
	}
	needsPorts := func(s *corev1.Service) bool {
		return s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer
	}
	if needsPorts(svc) && needsPorts(oldSvc) {
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort != 0 {
				continue
			}
			for _, op := range oldSvc.Spec.Ports {
				if op.Port == p.Port && op.Protocol == p.Protocol {
					p.NodePort = op.NodePort
					break
				}
			}
		}
		if svc.Spec.HealthCheckNodePort == 0 && svc.Spec.ExternalTrafficPolicy == oldSvc.Spec.ExternalTrafficPolicy {
			svc.Spec.HealthCheckNodePort = oldSvc.Spec.HealthCheckNodePort
		}
	}
}
