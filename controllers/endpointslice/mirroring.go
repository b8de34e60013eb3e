package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

const (
	// MirroringControllerName is the value of the managed-by label on the
	// slices the mirroring controller writes.
	MirroringControllerName = "endpointslicemirroring-controller.k8s.io"
	// DefaultMaxMirroredPerSubset is MirroringConfig.MaxEndpointsPerSubset's
	// zero value, as upstream.
	DefaultMaxMirroredPerSubset = 1000
	// leaderAnnotation marks Endpoints used as a leader-election lock
	// (client-go's resourcelock.LeaderElectionRecordAnnotationKey); they
	// are not mirrored.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// MirroringConfig holds what the mirroring controller needs; every field
// without a documented zero value is required. The informers are shared
// ones that the caller starts.
type MirroringConfig struct {
	// Client writes EndpointSlices.
	Client         kubernetes.Interface
	Services       coreinformers.ServiceInformer
	Endpoints      coreinformers.EndpointsInformer
	EndpointSlices discoveryinformers.EndpointSliceInformer
	// Events records addresses that were not mirrored. Zero value: none
	// are recorded.
	Events record.EventRecorder
	// MaxEndpointsPerSubset caps the addresses mirrored from one subset,
	// and the endpoints of one mirrored slice. Zero value:
	// DefaultMaxMirroredPerSubset.
	MaxEndpointsPerSubset int
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c MirroringConfig) Validate() error {
	var errs []error
	if c.Client == nil || c.Services == nil || c.Endpoints == nil || c.EndpointSlices == nil {
		errs = append(errs, fmt.Errorf("%w: Client, Services, Endpoints and EndpointSlices are required", ErrInvalidConfig))
	}
	if c.MaxEndpointsPerSubset < 0 || c.MaxEndpointsPerSubset > 1000 {
		errs = append(errs, fmt.Errorf("%w: MaxEndpointsPerSubset must be between 0 and 1000", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Mirroring is the endpointslice-mirroring controller: it mirrors the
// Endpoints of each Service without a selector (Endpoints its user writes)
// into EndpointSlices, as upstream. Endpoints labelled
// endpointslice.kubernetes.io/skip-mirror=true (the kubernetes Service's
// are) or carrying a leader-election annotation are not mirrored, and
// neither are those of Services with a selector or of no Service; slices
// mirrored from them before are deleted.
//
// Each address becomes an endpoint with the ready condition of its list
// (addresses or notReadyAddresses), its hostname, node name and targetRef,
// in a slice of its IP's address type; invalid IPs are skipped (event
// InvalidIPAddress), and so are addresses past MaxEndpointsPerSubset in one
// subset (event TooManyAddressesToMirror). Mirrored slices are owned by the
// Endpoints and carry its labels and annotations (but the trigger time and
// kubectl's last-applied configuration), kubernetes.io/service-name and
// endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io.
type Mirroring struct {
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	endpoints corelisters.EndpointsLister
	slices    discoverylisters.EndpointSliceLister
	events    record.EventRecorder
	max       int
	tracker   *tracker
	loop      *loop.Loop
}

// NewMirroring validates cfg and returns a mirroring controller whose event
// handlers are registered on the informers. Nothing runs until Run.
func NewMirroring(cfg MirroringConfig) (*Mirroring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Mirroring{
		client:    cfg.Client,
		services:  cfg.Services.Lister(),
		endpoints: cfg.Endpoints.Lister(),
		slices:    cfg.EndpointSlices.Lister(),
		events:    cfg.Events,
		max:       cfg.MaxEndpointsPerSubset,
		tracker:   newTracker(),
	}
	if m.events == nil {
		m.events = &record.FakeRecorder{}
	}
	if m.max == 0 {
		m.max = DefaultMaxMirroredPerSubset
	}
	m.loop = loop.New("endpointslice-mirroring-controller", m.sync)
	if err := loop.Watch(m.loop, cfg.Endpoints.Informer(), loop.OwnKey, true); err != nil {
		return nil, err
	}
	if err := loop.Watch(m.loop, cfg.Services.Informer(), loop.OwnKey, true); err != nil {
		return nil, err
	}
	slices := cfg.EndpointSlices.Informer()
	reg, err := m.tracker.watch(slices, MirroringControllerName, m.loop.Add)
	if err != nil {
		return nil, fmt.Errorf("endpointslice-mirroring-controller: add slice event handler: %w", err)
	}
	m.loop.WaitFor(slices.HasSynced, reg.HasSynced)
	return m, nil
}

// Run syncs Endpoints with the given number of workers until ctx ends.
func (m *Mirroring) Run(ctx context.Context, workers int) error { return m.loop.Run(ctx, workers) }

func (m *Mirroring) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	existing, err := m.slices.EndpointSlices(ns).List(labels.SelectorFromValidatedSet(labels.Set{
		discoveryv1.LabelServiceName: name,
		discoveryv1.LabelManagedBy:   MirroringControllerName,
	}))
	if err != nil {
		return err
	}
	if m.tracker.stale(key, existing) {
		return fmt.Errorf("mirrored slices of %s: cache does not show this controller's last writes yet", key)
	}
	ep, err := m.endpoints.Endpoints(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	mirror := err == nil && ep.Labels[discoveryv1.LabelSkipMirror] != "true"
	if mirror {
		_, lock := ep.Annotations[leaderAnnotation]
		mirror = !lock
	}
	if mirror {
		svc, err := m.services.Services(ns).Get(name)
		switch {
		case apierrors.IsNotFound(err):
			mirror = false
		case err != nil:
			return err
		default:
			mirror = svc.Spec.Selector == nil
		}
	}
	if !mirror {
		return writePlan(ctx, m.client, m.tracker, key, ns, plan{delete: existing}, func(*discoveryv1.EndpointSlice) {})
	}
	d := m.desired(ctx, ep)
	tpl := template{
		namespace:   ns,
		prefix:      slicePrefix(name),
		owner:       *metav1.NewControllerRef(ep, corev1.SchemeGroupVersion.WithKind("Endpoints")),
		labels:      map[string]string{},
		annotations: map[string]string{},
		mirrored:    true,
	}
	for k, v := range ep.Labels {
		tpl.labels[k] = v
	}
	tpl.labels[discoveryv1.LabelServiceName] = name
	tpl.labels[discoveryv1.LabelManagedBy] = MirroringControllerName
	for k, v := range ep.Annotations {
		if k != corev1.EndpointsLastChangeTriggerTime && k != corev1.LastAppliedConfigAnnotation {
			tpl.annotations[k] = v
		}
	}
	return writePlan(ctx, m.client, m.tracker, key, ns, newPlan(tpl, d, existing, m.max), func(*discoveryv1.EndpointSlice) {})
}

// desired turns the subsets of ep into groups of endpoints by address type
// and ports.
func (m *Mirroring) desired(ctx context.Context, ep *corev1.Endpoints) desired {
	d := desired{}
	invalid, skipped := 0, 0
	for _, sub := range ep.Subsets {
		ports := []discoveryv1.EndpointPort{}
		for _, p := range sub.Ports {
			ports = append(ports, discoveryv1.EndpointPort{
				Name: ptr.To(p.Name), Port: ptr.To(p.Port), Protocol: ptr.To(p.Protocol), AppProtocol: p.AppProtocol,
			})
		}
		pk := portsKey(ports)
		added := 0
		for _, list := range []struct {
			addrs []corev1.EndpointAddress
			ready bool
		}{{sub.Addresses, true}, {sub.NotReadyAddresses, false}} {
			for _, a := range list.addrs {
				if added >= m.max {
					skipped++
					continue
				}
				ip, err := netip.ParseAddr(a.IP)
				if err != nil {
					invalid++
					continue
				}
				ip = ip.Unmap()
				t := discoveryv1.AddressTypeIPv4
				if ip.Is6() {
					t = discoveryv1.AddressTypeIPv6
				}
				e := discoveryv1.Endpoint{
					Addresses:  []string{ip.String()},
					Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(list.ready)},
					TargetRef:  a.TargetRef,
					NodeName:   a.NodeName,
				}
				if a.Hostname != "" {
					e.Hostname = ptr.To(a.Hostname)
				}
				if d[t] == nil {
					d[t] = map[string]*group{}
				}
				g := d[t][pk]
				if g == nil {
					g = &group{addressType: t, ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
					d[t][pk] = g
				}
				g.endpoints[endpointKey(e)] = e
				added++
			}
		}
	}
	if invalid > 0 {
		klog.FromContext(ctx).Info("Skipped invalid IP addresses when mirroring", "endpoints", klog.KObj(ep), "count", invalid)
		m.events.Eventf(ep, corev1.EventTypeWarning, "InvalidIPAddress", "Skipped %d invalid IP addresses when mirroring to EndpointSlices", invalid)
	}
	if skipped > 0 {
		m.events.Eventf(ep, corev1.EventTypeWarning, "TooManyAddressesToMirror",
			"A max of %d addresses can be mirrored to EndpointSlices per Endpoints subset. %d addresses were skipped", m.max, skipped)
	}
	return d
}
