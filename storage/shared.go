package storage

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	etcdkubernetes "go.etcd.io/etcd/client/v3/kubernetes"
	"go.uber.org/zap"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericfeatures "k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/registry/generic"
	apistorage "k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/cacher"
	"k8s.io/apiserver/pkg/storage/etcd3"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Shared is one etcd client for the storage of every resource.
//
// The generic API server's storage factory dials a client of its own for each
// resource: with some sixty resources that is sixty gRPC connections, each with
// its goroutines and buffers on both ends (over 10 MiB together on an idle
// server). etcd multiplexes any number of requests and watches over one
// connection, so kubelite's resources share one; the requests, keys and
// encodings are those of the generic storage, unchanged.
type Shared struct {
	client        *etcdkubernetes.Client
	compactor     etcd3.Compactor
	stopCompactor func()

	closeOnce sync.Once
}

// NewShared dials etcd as transport says and starts the compactor (when
// compactionInterval is not zero) that the resources' stores share.
func NewShared(ctx context.Context, c storagebackend.TransportConfig, compactionInterval time.Duration, logger *zap.Logger) (*Shared, error) {
	if logger == nil {
		logger = quietLogger(&atomic.Bool{})
	}
	cfg := clientv3.Config{
		Endpoints:            c.ServerList,
		DialTimeout:          20 * time.Second,
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
		Logger:               logger,
		Context:              ctx,
	}
	if c.CertFile != "" || c.KeyFile != "" || c.TrustedCAFile != "" {
		tlsInfo := transport.TLSInfo{CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.TrustedCAFile}
		tlsConfig, err := tlsInfo.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd client TLS: %w", err)
		}
		cfg.TLS = tlsConfig
	}
	client, err := etcdkubernetes.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	// etcd_request_duration_seconds and friends, as the generic storage reports them.
	client.KV = etcd3.NewETCDLatencyTracker(client.KV)
	s := &Shared{client: client}
	if compactionInterval > 0 {
		// Its own compactor, not one per endpoint and process: several servers on
		// one etcd each run one, as API servers in a cluster do (they agree through
		// etcd which compaction is due).
		c := etcd3.NewCompactor(client.Client, compactionInterval, clock.RealClock{}, nil)
		s.compactor, s.stopCompactor = c, c.Stop
	}
	return s, nil
}

// Close stops the compactor and closes the client. Call it once the stores are
// destroyed.
func (s *Shared) Close() {
	s.closeOnce.Do(func() {
		if s.stopCompactor != nil {
			s.stopCompactor()
		}
		_ = s.client.Close()
	})
}

// RESTOptionsGetter wraps getter so that the storage of every resource it
// configures is a store on the shared client, behind the watch cache when
// cached is set (as the generic options do with the watch cache enabled).
func (s *Shared) RESTOptionsGetter(getter generic.RESTOptionsGetter, cached bool) generic.RESTOptionsGetter {
	return restOptionsGetter{getter: getter, shared: s, cached: cached}
}

// CustomResourceRESTOptionsGetter is RESTOptionsGetter for the custom
// resources of CRDs, whose watch cache also serves, while it is not ready, the
// lists it would refuse from etcd instead (see coldListStore).
func (s *Shared) CustomResourceRESTOptionsGetter(getter generic.RESTOptionsGetter, cached bool) generic.RESTOptionsGetter {
	return restOptionsGetter{getter: getter, shared: s, cached: cached, coldLists: true}
}

type restOptionsGetter struct {
	getter    generic.RESTOptionsGetter
	shared    *Shared
	cached    bool
	coldLists bool
}

func (g restOptionsGetter) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.getter.GetRESTOptions(resource, example)
	if err != nil {
		return opts, err
	}
	opts.Decorator = g.shared.decorator(g.cached && !uncachedResources[resource], g.coldLists)
	return opts, nil
}

// coldListStore serves from etcd the lists that its watch cache, not ready
// yet, would refuse (429 "storage is (re)initializing"). A custom resource's
// storage is made on its first use and again after each change of its CRD's
// spec, and the apiextensions CRD finalizer's first use is often the list of
// the instances it must delete: refused, the finalizer writes a failure
// condition and retries 5 ms later from a cache that may not show that write
// yet; its write then conflicts, and it leaves the retry to an update event
// that its own filter drops (only the Terminating condition changed), so the
// CRD stayed until the next resync, up to 5 minutes (seen in CI as `kubectl
// delete` of a CRD timing out after 60 s). Built-in resources keep the
// upstream behaviour: their caches start with the server.
type coldListStore struct {
	*cacher.CacheDelegator
	cacher *cacher.Cacher
	store  apistorage.Interface
}

func (s coldListStore) GetList(ctx context.Context, key string, opts apistorage.ListOptions, listObj runtime.Object) error {
	if !s.cacher.Ready() {
		return s.store.GetList(ctx, key, opts, listObj)
	}
	return s.CacheDelegator.GetList(ctx, key, opts, listObj)
}

// uncachedResources are served from etcd without a watch cache, as
// kube-apiserver's default --watch-cache-sizes has them: events, written
// often, read seldom and gone within an hour, whose cache would cost every
// server memory for the few clients that watch them.
var uncachedResources = map[schema.GroupResource]bool{
	{Resource: "events"}:                         true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// decorator builds a resource's storage: its etcd store on the shared client,
// and with cached, the watch cache in front of it (with coldLists, one that
// lists from etcd until it is ready: see coldListStore).
func (s *Shared) decorator(cached, coldLists bool) generic.StorageDecorator {
	return func(config *storagebackend.ConfigForResource, resourcePrefix string, keyFunc func(obj runtime.Object) (string, error),
		newFunc, newListFunc func() runtime.Object, getAttrs apistorage.AttrFunc, triggers apistorage.IndexerFuncs, indexers *cache.Indexers,
	) (apistorage.Interface, factory.DestroyFunc, error) {
		store, destroyStore, err := s.newStore(config, newFunc, newListFunc, resourcePrefix)
		if err != nil {
			return nil, nil, err
		}
		if !cached {
			return resumingStore{store}, destroyStore, nil
		}
		c, err := cacher.NewCacherFromConfig(cacher.Config{
			Storage:             store,
			Versioner:           apistorage.APIObjectVersioner{},
			GroupResource:       config.GroupResource,
			EventsHistoryWindow: config.EventsHistoryWindow,
			ResourcePrefix:      resourcePrefix,
			KeyFunc:             keyFunc,
			NewFunc:             newFunc,
			NewListFunc:         newListFunc,
			GetAttrsFunc:        getAttrs,
			IndexerFuncs:        triggers,
			Indexers:            indexers,
			Codec:               config.Codec,
		})
		if err != nil {
			destroyStore()
			return nil, func() {}, err
		}
		delegator := cacher.NewCacheDelegator(c, store)
		var served apistorage.Interface = delegator
		if coldLists {
			served = coldListStore{CacheDelegator: delegator, cacher: c, store: store}
		}
		var once sync.Once
		return served, func() {
			once.Do(func() {
				delegator.Stop()
				c.Stop()
				destroyStore()
			})
		}, nil
	}
}

// newStore is one resource's etcd store on the shared client.
func (s *Shared) newStore(c *storagebackend.ConfigForResource, newFunc, newListFunc func() runtime.Object, resourcePrefix string) (apistorage.Interface, factory.DestroyFunc, error) {
	if c.Type != storagebackend.StorageTypeUnset && c.Type != storagebackend.StorageTypeETCD3 {
		return nil, nil, fmt.Errorf("storage type %q is not supported", c.Type)
	}
	transformer := c.Transformer
	if transformer == nil {
		transformer = identity.NewEncryptCheckTransformer()
	}
	versioner := apistorage.APIObjectVersioner{}
	decoder := etcd3.NewDefaultDecoder(c.Codec, versioner)
	unsafeDelete := utilfeature.DefaultFeatureGate.Enabled(genericfeatures.AllowUnsafeMalformedObjectDeletion)
	if unsafeDelete {
		transformer = etcd3.WithCorruptObjErrorHandlingTransformer(transformer)
		decoder = etcd3.WithCorruptObjErrorHandlingDecoder(decoder)
	}
	store, err := etcd3.New(s.client, s.compactor, c.Codec, newFunc, newListFunc, c.Prefix, resourcePrefix,
		c.GroupResource, transformer, c.LeaseManagerConfig, decoder, versioner)
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	destroy := func() { once.Do(store.Close) }
	var st apistorage.Interface = store
	if unsafeDelete {
		st = etcd3.NewStoreWithUnsafeCorruptObjectDeletion(st, c.GroupResource)
	}
	return st, destroy, nil
}

// Client is the shared etcd client, for the API server's own keys beside
// the resources' (APIServerLeases).
func (s *Shared) Client() *clientv3.Client { return s.client.Client }
