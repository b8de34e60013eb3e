package netpol

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	networkinginformers "k8s.io/client-go/informers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"sigs.k8s.io/knftables"
)

// DefaultMinSyncInterval is the shortest time between two syncs when
// Config.MinSyncInterval is zero.
const DefaultMinSyncInterval = time.Second

// Config is what an Enforcer needs.
type Config struct {
	// NodeName is the node whose pods the enforcer isolates (spec.nodeName).
	NodeName string
	// Pods, Namespaces and Policies are informers of one shared factory;
	// Pods must see every pod, since peers may run on any node.
	Pods       coreinformers.PodInformer
	Namespaces coreinformers.NamespaceInformer
	Policies   networkinginformers.NetworkPolicyInformer
	// NFT drives the table; nil: knftables.New(inet, TableName), which
	// needs the nft binary.
	NFT knftables.Interface
	// MinSyncInterval batches changes: syncs are at least this far apart.
	// Zero: DefaultMinSyncInterval.
	MinSyncInterval time.Duration
}

// Validate reports missing settings, without side effects.
func (c Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("network policy: node name is required"))
	}
	if c.Pods == nil || c.Namespaces == nil || c.Policies == nil {
		errs = append(errs, errors.New("network policy: pod, namespace and network policy informers are required"))
	}
	if c.MinSyncInterval < 0 {
		errs = append(errs, fmt.Errorf("network policy: negative min sync interval %v", c.MinSyncInterval))
	}
	return errors.Join(errs...)
}

// Enforcer keeps the node's nft table in step with the NetworkPolicies
// that select the node's pods.
type Enforcer struct {
	cfg   Config
	table table
	queue workqueue.TypedRateLimitingInterface[string]
}

// syncKey is the one key of the queue: every change syncs everything.
const syncKey = "sync"

// New checks cfg, and registers the event handlers on its informers.
func New(cfg Config) (*Enforcer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MinSyncInterval == 0 {
		cfg.MinSyncInterval = DefaultMinSyncInterval
	}
	if cfg.NFT == nil {
		nft, err := knftables.New(knftables.InetFamily, TableName)
		if err != nil {
			return nil, fmt.Errorf("network policy: %w", err)
		}
		cfg.NFT = nft
	}
	e := &Enforcer{
		cfg:   cfg,
		table: table{nft: cfg.NFT},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](cfg.MinSyncInterval, time.Minute),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "networkpolicy"},
		),
	}
	if _, err := cfg.Pods.Informer().AddEventHandler(e.handler(func(old, cur any) bool {
		return podChanged(old.(*corev1.Pod), cur.(*corev1.Pod))
	})); err != nil {
		return nil, err
	}
	if _, err := cfg.Namespaces.Informer().AddEventHandler(e.handler(func(old, cur any) bool {
		return !reflect.DeepEqual(old.(*corev1.Namespace).Labels, cur.(*corev1.Namespace).Labels)
	})); err != nil {
		return nil, err
	}
	if _, err := cfg.Policies.Informer().AddEventHandler(e.handler(func(old, cur any) bool {
		return !reflect.DeepEqual(old.(*networkingv1.NetworkPolicy).Spec, cur.(*networkingv1.NetworkPolicy).Spec)
	})); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Enforcer) handler(changed func(old, cur any) bool) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { e.queue.Add(syncKey) },
		UpdateFunc: func(old, cur any) {
			if changed(old, cur) {
				e.queue.Add(syncKey)
			}
		},
		DeleteFunc: func(any) { e.queue.Add(syncKey) },
	}
}

// podChanged reports whether an update touches what the rules read.
func podChanged(old, cur *corev1.Pod) bool {
	return old.Spec.NodeName != cur.Spec.NodeName || old.Status.Phase != cur.Status.Phase ||
		!reflect.DeepEqual(old.Status.PodIPs, cur.Status.PodIPs) || old.Status.PodIP != cur.Status.PodIP ||
		!reflect.DeepEqual(old.Labels, cur.Labels) || !reflect.DeepEqual(old.Spec.Containers, cur.Spec.Containers)
}

// Run waits for the informers, then syncs, at most once per
// MinSyncInterval, until ctx ends. The rules stay in place after it.
func (e *Enforcer) Run(ctx context.Context) error {
	logger := klog.LoggerWithName(klog.FromContext(ctx), "networkpolicy")
	ctx = klog.NewContext(ctx, logger)
	defer e.queue.ShutDown()
	go func() { <-ctx.Done(); e.queue.ShutDown() }()
	if !cache.WaitForNamedCacheSyncWithContext(ctx, e.cfg.Pods.Informer().HasSynced,
		e.cfg.Namespaces.Informer().HasSynced, e.cfg.Policies.Informer().HasSynced) {
		return fmt.Errorf("network policy: wait for caches: %w", context.Cause(ctx))
	}
	e.queue.Add(syncKey)
	for {
		key, quit := e.queue.Get()
		if quit {
			return nil
		}
		if err := e.sync(ctx); err != nil {
			logger.Error(err, "Sync failed, will retry")
			e.queue.AddRateLimited(key)
		} else {
			e.queue.Forget(key)
		}
		e.queue.Done(key)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(e.cfg.MinSyncInterval):
		}
	}
}

// sync computes the ruleset from the caches and applies it.
func (e *Enforcer) sync(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	start := time.Now()
	s, err := e.snapshot()
	if err != nil {
		return err
	}
	want, problems := compile(s)
	for _, p := range problems {
		logger.Error(p, "Ignoring network policy")
	}
	changed, err := e.table.apply(ctx, want)
	if err != nil {
		return err
	}
	if changed {
		logger.V(2).Info("Applied network policy rules", "policies", len(s.policies), "sets", len(want.sets), "duration", time.Since(start))
	}
	return nil
}

func (e *Enforcer) snapshot() (snapshot, error) {
	pods, err := e.cfg.Pods.Lister().List(labels.Everything())
	if err != nil {
		return snapshot{}, err
	}
	nss, err := e.cfg.Namespaces.Lister().List(labels.Everything())
	if err != nil {
		return snapshot{}, err
	}
	policies, err := e.cfg.Policies.Lister().List(labels.Everything())
	if err != nil {
		return snapshot{}, err
	}
	s := snapshot{node: e.cfg.NodeName, pods: pods, policies: policies, namespaces: map[string]labels.Set{}}
	for _, ns := range nss {
		s.namespaces[ns.Name] = labels.Set(ns.Labels)
	}
	return s, nil
}

// EnsureBridgeNetfilter makes bridged IPv4 and IPv6 traffic cross the inet
// hooks (br_netfilter), so that the rules see traffic between two pods on
// the same bridge. It returns an error when br_netfilter is missing: then
// only routed traffic (to and from other nodes) is filtered.
func EnsureBridgeNetfilter(ctx context.Context) error {
	const dir = "/proc/sys/net/bridge"
	var errs []error
	for _, name := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"} {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("br_netfilter not available (same-node pod traffic is not filtered): %w", err))
			continue
		}
		if strings.TrimSpace(string(b)) == "1" {
			continue
		}
		if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("enable %s: %w", name, err))
			continue
		}
		klog.FromContext(ctx).Info("Enabled bridge netfilter for network policies", "sysctl", "net.bridge."+name)
	}
	return errors.Join(errs...)
}
