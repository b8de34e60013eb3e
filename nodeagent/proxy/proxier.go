package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/kubelite/kubelite/nodeagent/internal/netnsexec"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"sigs.k8s.io/knftables"
)

// TableName is the nft table the proxy owns (family ip, or ip6 for an IPv6
// proxy).
const TableName = "kubelite-proxy"

// checkInterval is how often the proxy checks that its table is still
// there, and rebuilds it when someone removed it.
const checkInterval = time.Minute

// DefaultMinSyncInterval is the shortest time between two syncs when
// Config.MinSyncInterval is zero (upstream kube-proxy's --min-sync-period
// in nftables mode). A change after a quiet spell is applied at once.
const DefaultMinSyncInterval = time.Second

// Config is what a Proxier needs. Zero values take the defaults in the
// comments.
type Config struct {
	// NodeName is this node: endpoints on it are local, for the Local
	// traffic policies. Required.
	NodeName string
	// Services and EndpointSlices are the informers of the cluster's
	// Services and slices (kube-proxy's rights: system:node-proxier).
	// Required; the caller starts them.
	Services       coreinformers.ServiceInformer
	EndpointSlices discoveryinformers.EndpointSliceInformer
	// Family is the IP family served: knftables.IPv4Family (zero) or
	// IPv6Family; a dual-stack node runs one Proxier for each.
	Family knftables.Family
	// ClusterCIDRs are the cluster's pod CIDRs: traffic to a cluster IP
	// from anywhere else is masqueraded, as kube-proxy's --cluster-cidr.
	// Empty: none is.
	ClusterCIDRs []string
	// MinSyncInterval batches changes: syncs are at least this far apart.
	// Zero: DefaultMinSyncInterval; negative: no wait.
	MinSyncInterval time.Duration
	// NetNS is the path of the network namespace whose rules and
	// conntrack entries the proxy keeps (tests' hosts). Empty: the
	// process's own.
	NetNS string
}

// Validate reports settings New cannot use, without side effects.
func (c Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("proxy: node name is required"))
	}
	if c.Services == nil || c.EndpointSlices == nil {
		errs = append(errs, errors.New("proxy: Service and EndpointSlice informers are required"))
	}
	if c.Family != "" && c.Family != knftables.IPv4Family && c.Family != knftables.IPv6Family {
		errs = append(errs, fmt.Errorf("proxy: family %q is neither ip nor ip6", c.Family))
	}
	for _, s := range c.ClusterCIDRs {
		if _, err := netip.ParsePrefix(s); err != nil {
			errs = append(errs, fmt.Errorf("proxy: cluster CIDR: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Proxier keeps the node's service rules in step with the cluster's
// Services and EndpointSlices. Build it with New, run it with Run.
type Proxier struct {
	cfg          Config
	clusterCIDRs []netip.Prefix
	table        table
	conntrack    conntracker
	queue        workqueue.TypedRateLimitingInterface[string]
	services     cache.Indexer
	slices       cache.Indexer
	synced       []cache.InformerSynced
	// ports are the service ports of the last sync that applied, by key,
	// for the conntrack clean-up of the next.
	ports map[string]*servicePort
	// compiled caches each Service's ports and fragments, by
	// namespace/name, for as long as the informers hand out the same
	// Service and slices (they replace an object on each change).
	compiled map[string]*compiledService
	// afterSync, when set (tests), is called after every sync that applied.
	afterSync func()
}

// compiledService is one Service's part of a sync.
type compiledService struct {
	svc    *corev1.Service
	slices []*discoveryv1.EndpointSlice
	ports  []*servicePort
	frags  []*fragment
}

// syncKey is the queue's key for changes: every change syncs everything.
// checkKey asks for a sync after checking the table is still there.
const (
	syncKey  = "sync"
	checkKey = "check"
)

// New checks cfg and registers event handlers on its informers.
func New(cfg Config) (*Proxier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Family == "" {
		cfg.Family = knftables.IPv4Family
	}
	if cfg.MinSyncInterval == 0 {
		cfg.MinSyncInterval = DefaultMinSyncInterval
	}
	p := &Proxier{
		cfg:       cfg,
		conntrack: netlinkConntrack{path: cfg.NetNS},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "proxy"}),
	}
	for _, s := range cfg.ClusterCIDRs {
		pfx := netip.MustParsePrefix(s).Masked()
		if inFamily(pfx.Addr(), cfg.Family) {
			p.clusterCIDRs = append(p.clusterCIDRs, pfx)
		}
	}
	nft, err := netnsexec.NewNFT(cfg.NetNS, cfg.Family, TableName)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p.table = table{nft: nft}
	enqueue := func(any) { p.queue.Add(syncKey) }
	handler := cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue}
	for _, inf := range []cache.SharedIndexInformer{cfg.Services.Informer(), cfg.EndpointSlices.Informer()} {
		reg, err := inf.AddEventHandler(handler)
		if err != nil {
			return nil, err
		}
		p.synced = append(p.synced, reg.HasSynced)
	}
	p.services = cfg.Services.Informer().GetIndexer()
	p.slices = cfg.EndpointSlices.Informer().GetIndexer()
	return p, nil
}

// Run syncs the rules until ctx ends. It leaves them in place when it
// returns: Services keep working while the agent restarts.
func (p *Proxier) Run(ctx context.Context) error {
	logger := klog.LoggerWithName(klog.FromContext(ctx), "proxy")
	ctx = klog.NewContext(ctx, logger)
	defer p.queue.ShutDown()
	if !cache.WaitForNamedCacheSyncWithContext(ctx, p.synced...) {
		return ctx.Err()
	}
	go func() { <-ctx.Done(); p.queue.ShutDown() }()
	go func() {
		t := time.NewTicker(checkInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.queue.Add(checkKey)
			}
		}
	}()
	p.queue.Add(syncKey)
	var last time.Time
	for {
		key, quit := p.queue.Get()
		if quit {
			return nil
		}
		// Coalesce: changes that come while this waits, or while it syncs,
		// make one more sync after it.
		if wait := p.cfg.MinSyncInterval - time.Since(last); wait > 0 && !last.IsZero() {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				p.queue.Done(key)
				return nil
			}
		}
		last = time.Now()
		if key == checkKey {
			p.table.verify(ctx)
		}
		if err := p.Sync(ctx); err != nil {
			logger.Error(err, "Sync service rules, will retry")
			p.queue.AddRateLimited(key)
		} else {
			p.queue.Forget(key)
		}
		p.queue.Done(key)
	}
}

// Sync computes the rules from the informers' caches and applies them.
func (p *Proxier) Sync(ctx context.Context) error {
	start := time.Now()
	sps, want := p.compile()
	changed, err := p.table.apply(ctx, want)
	if err != nil {
		return err
	}
	ports := make(map[string]*servicePort, len(sps))
	for _, sp := range sps {
		ports[sp.key()] = sp
	}
	if p.ports != nil {
		if err := p.conntrack.clearUDP(staleUDPFlows(p.ports, ports)); err != nil {
			// The rules are right; old flows time out on their own.
			klog.FromContext(ctx).Error(err, "Stale UDP flows may linger")
		}
	}
	p.ports = ports
	klog.FromContext(ctx).V(4).Info("Synced service rules", "servicePorts", len(sps), "changed", changed, "took", time.Since(start))
	if p.afterSync != nil {
		p.afterSync()
	}
	return nil
}

// compile reads the caches into sorted service ports and the ruleset,
// computing again only the Services whose object or slices changed.
func (p *Proxier) compile() ([]*servicePort, ruleset) {
	var services []*corev1.Service
	for _, o := range p.services.List() {
		if svc, ok := o.(*corev1.Service); ok {
			services = append(services, svc)
		}
	}
	// The oldest first: it wins an address and port two claim.
	slices.SortFunc(services, func(a, b *corev1.Service) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	bySvc := map[string][]*discoveryv1.EndpointSlice{}
	for _, o := range p.slices.List() {
		es, ok := o.(*discoveryv1.EndpointSlice)
		if !ok {
			continue
		}
		if name := es.Labels[discoveryv1.LabelServiceName]; name != "" {
			bySvc[es.Namespace+"/"+name] = append(bySvc[es.Namespace+"/"+name], es)
		}
	}
	c := newCompiler(p.cfg.Family, p.clusterCIDRs)
	r := c.base()
	var sps []*servicePort
	compiled := make(map[string]*compiledService, len(services))
	for _, svc := range services {
		key := svc.Namespace + "/" + svc.Name
		es := bySvc[key]
		slices.SortFunc(es, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
		cs := p.compiled[key]
		if cs == nil || cs.svc != svc || !slices.Equal(cs.slices, es) {
			cs = &compiledService{svc: svc, slices: es}
			cs.ports = servicePorts(p.cfg.Family, p.cfg.NodeName, []*corev1.Service{svc}, map[string][]*discoveryv1.EndpointSlice{key: es})
			for _, sp := range cs.ports {
				cs.frags = append(cs.frags, c.port(sp))
			}
		}
		compiled[key] = cs
		sps = append(sps, cs.ports...)
		for _, fr := range cs.frags {
			r.merge(fr)
		}
	}
	p.compiled = compiled
	return sps, r
}
