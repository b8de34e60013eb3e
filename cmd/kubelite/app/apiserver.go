package app

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/google/uuid"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/version"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericfilters "k8s.io/apiserver/pkg/server/filters"
	"k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	aggregatorinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/common/restfuladapter"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/kubelite/kubelite/apis"
	"github.com/kubelite/kubelite/apis/openapi"
	"github.com/kubelite/kubelite/auth/serviceaccount"
	"github.com/kubelite/kubelite/controllers/apiservice"
	"github.com/kubelite/kubelite/registry"
	"github.com/kubelite/kubelite/storage"
)

// KubernetesVersion is the Kubernetes release whose API kubelite serves.
const KubernetesVersion = "1.37.2"

// APIServerConfig is what the API server needs to run.
type APIServerConfig struct {
	// BindAddress and SecurePort are where it serves HTTPS.
	BindAddress net.IP
	SecurePort  int
	// AdvertiseAddress is the address the kubernetes Service's endpoints name.
	AdvertiseAddress net.IP
	// EtcdServers are the etcd client URLs, EtcdTLS the client's TLS files
	// (zero: none).
	EtcdServers []string
	EtcdTLS     storage.TLSFiles
	// EtcdMembers lists the embedded etcd cluster's members, for servers
	// joining it (serverBootstrapPath). Nil: no cluster to join.
	EtcdMembers func() []storage.Member
	// ServiceCIDR and NodePorts are the ranges Services are allocated from.
	ServiceCIDR *net.IPNet
	NodePorts   utilnet.PortRange
	// ClusterDNS is the cluster IP of the kube-dns Service bootstrap
	// creates in kube-system. Nil: no kube-dns Service.
	ClusterDNS net.IP
	// PKI holds the CA and certificates.
	PKI pki
	// NodeDialer dials node agents (pods/log, exec, ...). Nil: a plain
	// dialer.
	NodeDialer *nodeDialer
	// Audit is the audit logging; zero: none.
	Audit AuditConfig
	// Admission chooses and configures the admission plugins; zero: all,
	// with their defaults.
	Admission AdmissionConfig
	// MaxRequestsInFlight and MaxMutatingRequestsInFlight together are the
	// seats that API priority and fairness shares among its priority levels
	// (upstream's flags of these names); zero: upstream's 400 and 200.
	MaxRequestsInFlight, MaxMutatingRequestsInFlight int
	// Profiling is /debug/pprof; zero: served, as upstream.
	Profiling ProfilingConfig
}

// ProfilingConfig says whether the API server serves Go's profiles under
// /debug/pprof/ (with /debug/flags/v), as kube-apiserver's --profiling and
// --contention-profiling do. Like every non-resource path they are behind
// authentication and authorization: RBAC grants them to no default role but
// cluster-admin (system:masters), so anonymous and ordinary users get 403.
type ProfilingConfig struct {
	// Disabled turns the handlers off (--profiling=false). Zero: served.
	Disabled bool
	// Contention records blocking events for the block profile
	// (--contention-profiling), at some cost to every lock. Zero: off.
	Contention bool
}

// apiServer is the assembled, not yet running, API server.
type apiServer struct {
	generic  *genericapiserver.GenericAPIServer
	loopback *kubernetes.Clientset
	// loopbackConfig reaches the server from inside the process, as system:apiserver.
	loopbackConfig *restclient.Config
	// port is the HTTPS port it listens on.
	port int
	// config configures the OpenAPI documents, served once the server is prepared.
	config *genericapiserver.Config
	// definitions are held from assembly until the server is prepared.
	definitions *definitionsCache
	// etcd is the client the resources' stores share.
	etcd *storage.Shared
	// components are the identities of the in-process components.
	components *componentIdentities
	// informers is the loopback informer factory of admission, which the
	// process's other components share: one cache of each resource.
	informers informers.SharedInformerFactory
}

// close releases what the server holds once it has stopped.
func (a *apiServer) close() { a.etcd.Close() }

// runner is a prepared server.
type runner interface {
	RunWithContext(ctx context.Context) error
}

// prepare readies the server to run: the generic PrepareRun, then the OpenAPI
// documents merged with the CRDs', built when first asked for.
func (a *apiServer) prepare() (runner, error) {
	prepared := a.generic.PrepareRun()
	serveOpenAPI(a.generic.Handler.GoRestfulContainer, a.generic.NextDelegate().UnprotectedHandler(),
		a.config.OpenAPIConfig, a.config.OpenAPIV3Config, a.definitions, a.generic.Handler.NonGoRestfulMux)
	// Installing the groups (their server-side apply schemas) and preparing the
	// delegate needed the definitions; the documents build them again on demand.
	a.definitions.release()
	return prepared, nil
}

// versionInfo reports the Kubernetes release kubelite implements.
type versionInfo struct {
	basecompatibility.EffectiveVersion
}

func (v versionInfo) Info() *version.Info {
	info := v.EffectiveVersion.Info()
	info.GitVersion = "v" + KubernetesVersion
	info.GitTreeState = "clean"
	return info
}

func newAPIServer(cfg APIServerConfig) (*apiServer, error) {
	scheme, err := apis.NewScheme()
	if err != nil {
		return nil, err
	}
	gc := genericapiserver.NewConfig(scheme.Codecs)
	// One aggregated discovery document for kubelite's groups and the CRDs'.
	gc.AggregatedDiscoveryGroupManager = aggregated.NewResourceManager("apis")
	gc.EffectiveVersion = versionInfo{basecompatibility.NewEffectiveVersionFromString(KubernetesVersion, "", "")}
	gc.EnableProfiling = !cfg.Profiling.Disabled
	gc.EnableContentionProfiling = cfg.Profiling.Contention
	gc.LongRunningFunc = genericfilters.BasicLongRunningRequestCheck(
		sets.NewString("watch", "proxy"),
		sets.NewString("attach", "exec", "proxy", "log", "portforward"),
	)

	// Serving, with the loopback client the in-process components use.
	serving := options.NewSecureServingOptions()
	serving.BindAddress = cfg.BindAddress
	serving.BindPort = cfg.SecurePort
	if cfg.SecurePort == 0 {
		// Port 0 disables serving in the options: listen on a free port instead.
		l, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress.String(), "0"))
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		serving.Listener = l
		serving.BindPort = l.Addr().(*net.TCPAddr).Port
	}
	serving.ServerCert.CertKey = options.CertKey{CertFile: cfg.PKI.ServingCertFile(), KeyFile: cfg.PKI.ServingKeyFile()}
	if err := serving.ApplyTo(&gc.SecureServing); err != nil {
		return nil, fmt.Errorf("secure serving: %w", err)
	}
	// The loopback client reaches the server by a name only it uses, with a
	// certificate made at each start and a random token (which Complete
	// authenticates as system:apiserver), as the generic loopback option does.
	loopbackCert, loopbackKey, err := selfSignedCert(genericapiserver.LoopbackClientServerNameOverride, 3*365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("loopback certificate: %w", err)
	}
	loopbackSNI, err := dynamiccertificates.NewStaticSNICertKeyContent("self-signed loopback", loopbackCert, loopbackKey,
		genericapiserver.LoopbackClientServerNameOverride)
	if err != nil {
		return nil, fmt.Errorf("loopback certificate: %w", err)
	}
	gc.SecureServing.SNICerts = append([]dynamiccertificates.SNICertKeyContentProvider{loopbackSNI}, gc.SecureServing.SNICerts...)
	if gc.LoopbackClientConfig, err = gc.SecureServing.NewLoopbackClientConfig(uuid.New().String(), loopbackCert); err != nil {
		return nil, fmt.Errorf("loopback client: %w", err)
	}
	gc.LoopbackClientConfig.ContentType = "application/vnd.kubernetes.protobuf"
	// In-process clients gain nothing from gzip, and each compressed watch
	// holds a compressor of most of a MiB (kube-apiserver disables it too).
	gc.LoopbackClientConfig.DisableCompression = true
	_, port, err := gc.SecureServing.HostPort()
	if err != nil {
		return nil, err
	}
	cfg.SecurePort = port
	gc.PublicAddress = cfg.AdvertiseAddress

	// Authentication: client certificates signed by the cluster CA.
	caBundle, err := os.ReadFile(cfg.PKI.CAFile())
	if err != nil {
		return nil, err
	}
	clientCA, err := dynamiccertificates.NewStaticCAContent("client-ca", caBundle)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	if err := gc.Authentication.ApplyClientCert(clientCA, gc.SecureServing); err != nil {
		return nil, err
	}
	// Service account tokens: signed with the cluster's service account key,
	// checked against the objects they name in the registry's stores (filled
	// in when the APIs are installed), each verdict cached for a few seconds.
	env := &registry.Env{Scheme: scheme, ServiceCIDR: cfg.ServiceCIDR, NodePorts: cfg.NodePorts}
	if cfg.NodeDialer == nil {
		cfg.NodeDialer = &nodeDialer{}
	}
	if env.NodeTransport, err = nodeTransport(cfg.PKI, cfg.NodeDialer); err != nil {
		return nil, err
	}
	saKey, err := cfg.PKI.serviceAccountKey()
	if err != nil {
		return nil, fmt.Errorf("service account key: %w", err)
	}
	if env.Tokens, err = serviceaccount.NewIssuer(serviceAccountIssuer, saKey, []string{serviceAccountIssuer}); err != nil {
		return nil, err
	}
	gc.Authentication.APIAudiences = env.Tokens.APIAudiences()
	saTokens := tokencache.New(env.Tokens.Authenticator(env), false, 10*time.Second, 0)
	// The in-process components have tokens of their own (authz.go).
	components := defaultComponentIdentities()
	components.loopback = gc.LoopbackClientConfig
	authn, err := newAuthentication(clientCA.VerifyOptions, tokenunion.New(components.tokenAuthenticator(gc.Authentication.APIAudiences), saTokens), gc.LoopbackClientConfig)
	if err != nil {
		return nil, err
	}
	gc.Authentication.Authenticator = authn

	// OpenAPI, from the definitions generated over k8s.io/api. The v3 config
	// does not keep them (the default one does): they are held while the
	// groups are installed, and later only while a document is being built.
	namer := openapinamer.NewDefinitionNamer(scheme.External, apiextensionsapiserver.Scheme)
	gc.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, namer)
	gc.OpenAPIConfig.Info.Title = "Kubernetes"
	gc.OpenAPIConfig.Info.Version = "v" + KubernetesVersion
	definitions := newDefinitionsCache(openapi.GetOpenAPIDefinitions)
	definitions.hold()
	gc.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(definitions.definitions, namer)
	gc.OpenAPIV3Config.Definitions = nil
	gc.OpenAPIV3Config.Info.Title = "Kubernetes"
	gc.OpenAPIV3Config.Info.Version = "v" + KubernetesVersion
	// Left unset, kube-openapi's builders set this on the shared config to a
	// closure over the first builder, keeping its whole definitions map (a few
	// MiB for each config) for the life of the server, and write the config
	// while documents may be built concurrently.
	gc.OpenAPIConfig.GetOperationIDAndTagsFromRoute = operationIDAndTags
	gc.OpenAPIV3Config.GetOperationIDAndTagsFromRoute = operationIDAndTags
	gc.OpenAPIConfig.CommonResponses = map[int]spec.Response{}

	// Storage: protobuf in etcd under kube's key layout, with the watch cache.
	backend := storagebackend.NewDefaultConfig("/registry", nil)
	backend.Transport.ServerList = cfg.EtcdServers
	backend.Transport.TrustedCAFile = cfg.EtcdTLS.CAFile
	backend.Transport.CertFile = cfg.EtcdTLS.CertFile
	backend.Transport.KeyFile = cfg.EtcdTLS.KeyFile
	etcdOpts := options.NewEtcdOptions(backend)
	etcdOpts.DefaultStorageMediaType = "application/vnd.kubernetes.protobuf"
	resourceConfig := serverstorage.NewResourceConfig()
	for _, g := range apis.Groups() {
		for _, v := range g.Versions {
			resourceConfig.EnableVersions(schema.GroupVersion{Group: g.Name, Version: v})
		}
	}
	encoding := serverstorage.NewDefaultResourceEncodingConfig(scheme.Scheme)
	// Core Events are stored as core/v1, whichever API (core or events.k8s.io)
	// wrote them.
	coreEvents := schema.GroupResource{Resource: "events"}
	encoding.SetResourceEncoding(coreEvents, schema.GroupVersion{Version: "v1"}, schema.GroupVersion{Version: runtime.APIVersionInternal})
	storageFactory := serverstorage.NewDefaultStorageFactory(*backend, etcdOpts.DefaultStorageMediaType, scheme.Codecs,
		encoding, resourceConfig, map[schema.GroupResource]string{
			{Resource: "nodes"}:                                 "minions",
			{Resource: "services"}:                              "services/specs",
			{Resource: "endpoints"}:                             "services/endpoints",
			{Resource: "replicationcontrollers"}:                "controllers",
			{Group: "networking.k8s.io", Resource: "ingresses"}: "ingress",
		})
	// events.k8s.io/v1 Events are the core Events, stored once.
	storageFactory.AddCohabitatingResources(coreEvents, schema.GroupResource{Group: "events.k8s.io", Resource: "events"})
	if err := etcdOpts.ApplyWithStorageFactoryTo(storageFactory, gc); err != nil {
		return nil, fmt.Errorf("etcd options: %w", err)
	}
	// Every resource's store on one etcd client, not one client each.
	shared, err := storage.NewShared(context.Background(), backend.Transport, backend.CompactionInterval, nil)
	if err != nil {
		return nil, err
	}
	gc.RESTOptionsGetter = shared.RESTOptionsGetter(gc.RESTOptionsGetter, etcdOpts.EnableWatchCache)

	// Admission: the built-in plugins, webhooks and policies in upstream's
	// order, on informers of the loopback client.
	loopback, err := kubernetes.NewForConfig(gc.LoopbackClientConfig)
	if err != nil {
		return nil, err
	}
	// kube-apiserver resyncs its informers every 10 minutes; the admission
	// plugins only read listers, and in `kubelite server` the scheduler
	// shares this factory, whose handlers upstream never resyncs.
	factory := sharedInformers(loopback)
	// Authorization: Node and RBAC on these informers (authz.go).
	authz, err := newAuthorization(factory)
	if err != nil {
		return nil, err
	}
	gc.Authorization.Authorizer = authz
	gc.AddPostStartHookOrDie("kubelite-authorization", authz.waitSynced)
	if gc.AdmissionControl, err = newAdmission(gc, cfg.Admission, loopback, factory); err != nil {
		return nil, err
	}
	// API priority and fairness, as kube-apiserver runs it: requests are
	// classified by the FlowSchemas into PriorityLevels (bootstrap.go keeps
	// upstream's configuration), each with its share of the seats, queued
	// fairly among flows, and rejected with 429 when their queues are full,
	// so that a flood from one client cannot starve node heartbeats, the
	// controllers or the admin (system:masters is exempt).
	if cfg.MaxRequestsInFlight > 0 {
		gc.MaxRequestsInFlight = cfg.MaxRequestsInFlight
	}
	if cfg.MaxMutatingRequestsInFlight > 0 {
		gc.MaxMutatingRequestsInFlight = cfg.MaxMutatingRequestsInFlight
	}
	gc.FlowControl = utilflowcontrol.New(factory, loopback.FlowcontrolV1(), gc.MaxRequestsInFlight+gc.MaxMutatingRequestsInFlight)

	if err := applyAudit(gc, cfg.Audit); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}

	readiness := &startedInformers{SharedInformerFactory: factory}
	crds, err := newCRDServer(gc, etcdOpts, shared, readiness)
	if err != nil {
		return nil, fmt.Errorf("apiextensions server: %w", err)
	}
	gc.SkipOpenAPIInstallation = true // served merged with the CRDs', below

	env.RESTOptions = gc.RESTOptionsGetter
	env.Authorizer = gc.Authorization.Authorizer
	env.RBAC = authz.RBAC
	gc.AddPostStartHookOrDie("kubelite-informers", func(ctx genericapiserver.PostStartHookContext) error {
		factory.Start(ctx.Done())
		return nil
	})
	gc.AddPostStartHookOrDie("kubelite-registry", func(ctx genericapiserver.PostStartHookContext) error {
		return env.Start(ctx)
	})
	gc.AddPostStartHookOrDie("kubelite-bootstrap-tokens", func(ctx genericapiserver.PostStartHookContext) error {
		authn.start(ctx)
		return nil
	})
	if err := addJoinHook(gc, loopback, cfg); err != nil {
		return nil, err
	}
	gc.AddPostStartHookOrDie("kubelite-bootstrap", func(ctx genericapiserver.PostStartHookContext) error {
		if err := bootstrap(ctx, loopback, cfg); err != nil {
			return err
		}
		leases := storage.NewAPIServerLeases(shared.Client(), apiServerLeasePrefix, apiServerLeaseTTL)
		r := newEndpointReconciler(loopback, leases, cfg.AdvertiseAddress, cfg.SecurePort)
		if r == nil {
			klog.FromContext(ctx).Info("advertise address is not routable; the kubernetes Service has no endpoints", "address", cfg.AdvertiseAddress)
			return nil
		}
		return r.start(ctx)
	})

	srv, err := gc.Complete(readiness).New("kubelite", crds.GenericAPIServer)
	if err != nil {
		return nil, err
	}
	if err := crdDiscovery(srv, crds.Informers); err != nil {
		return nil, err
	}
	// Requests are drained before the HTTP server shuts down; what is left then
	// are watches and streams, which clients re-establish.
	srv.ShutdownTimeout = 5 * time.Second
	srv.Handler.NonGoRestfulMux.Handle(serverBootstrapPath, serverBootstrapHandler(cfg.PKI, cfg.EtcdMembers))
	installed, err := installAPIs(srv, gc, env, scheme)
	if err != nil {
		return nil, err
	}
	if err := registerAPIServices(srv, gc, loopback, crds, installed); err != nil {
		return nil, err
	}
	return &apiServer{generic: srv, config: gc, definitions: definitions, etcd: shared, loopback: loopback, loopbackConfig: gc.LoopbackClientConfig, port: port, informers: factory, components: components}, nil
}

// operationIDAndTags names a route's OpenAPI operation as the generic server
// does (getNamespacedPod, tags core_v1).
func operationIDAndTags(r openapicommon.Route) (string, []string, error) {
	route, ok := r.(*restfuladapter.RouteAdapter)
	if !ok {
		return "", nil, fmt.Errorf("route %s %s is not a go-restful route", r.Method(), r.Path())
	}
	return openapinamer.GetOperationIDAndTags(route.Route)
}

// serviceAccountIssuer is the iss of service account tokens and the API
// server's audience, as clusters set --service-account-issuer by default.
const serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// dropStaticOpenAPISpec lets the OpenAPI definitions that installing infos
// built go, once installed. The generic server builds them (every served
// type's schema, ~4 MiB) to make the groups' server-side apply type
// converter, and keeps them in each APIGroupInfo, which it holds until it
// stops (for the storage's destroy function); nothing reads them after the
// install. /openapi/v2 and /openapi/v3 build their own.
func dropStaticOpenAPISpec(infos ...*genericapiserver.APIGroupInfo) {
	for _, info := range infos {
		info.StaticOpenAPISpec = nil
	}
}

// installAPIs builds every row's storage and installs the groups: the legacy core
// group at /api, the rest at /apis. It returns the group versions it installed.
func installAPIs(srv *genericapiserver.GenericAPIServer, gc *genericapiserver.Config, env *registry.Env, scheme *apis.Scheme) (map[schema.GroupVersion]bool, error) {
	storage := map[schema.GroupVersion]map[string]rest.Storage{}
	for _, row := range registry.Resources() {
		m, err := registry.NewStorage(env, row)
		if err != nil {
			return nil, err
		}
		// Every version of the row shares its storage, as upstream shares one
		// store between versions.
		for _, gv := range row.GroupVersions() {
			if storage[gv] == nil {
				storage[gv] = map[string]rest.Storage{}
			}
			for k, v := range m {
				storage[gv][k] = v
			}
		}
	}
	for gv, m := range registry.Reviews(gc.Authentication.Authenticator, gc.Authorization.Authorizer) {
		if storage[gv] == nil {
			storage[gv] = map[string]rest.Storage{}
		}
		for k, v := range m {
			storage[gv][k] = v
		}
	}
	installed := map[schema.GroupVersion]bool{}
	var named []*genericapiserver.APIGroupInfo
	for _, g := range apis.Groups() {
		info := genericapiserver.NewDefaultAPIGroupInfo(g.Name, scheme.Scheme, scheme.ParameterCodec, scheme.Codecs)
		served := false
		for _, v := range g.Versions {
			gv := schema.GroupVersion{Group: g.Name, Version: v}
			if s := storage[gv]; len(s) > 0 {
				info.VersionedResourcesStorageMap[v] = s
				served = true
				installed[gv] = true
			}
		}
		if !served {
			continue
		}
		if g.Name == "" {
			if err := srv.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, &info); err != nil {
				return nil, fmt.Errorf("install core API: %w", err)
			}
			dropStaticOpenAPISpec(&info)
			continue
		}
		named = append(named, &info)
	}
	if len(named) > 0 {
		if err := srv.InstallAPIGroups(named...); err != nil {
			return nil, fmt.Errorf("install API groups: %w", err)
		}
		dropStaticOpenAPISpec(named...)
	}
	return installed, nil
}

// registerAPIServices orders aggregated discovery by upstream's priorities and
// runs the APIService controller: a local APIService for every installed group
// version and apiextensions.k8s.io/v1, one per served CRD version, and the
// Available condition of all of them.
func registerAPIServices(srv *genericapiserver.GenericAPIServer, gc *genericapiserver.Config, kube kubernetes.Interface,
	crds *apiextensionsapiserver.CustomResourceDefinitions, installed map[schema.GroupVersion]bool) error {
	local := map[schema.GroupVersion]apiservice.Priority{}
	for gv, p := range apis.Priorities() {
		gc.AggregatedDiscoveryGroupManager.SetGroupVersionPriority(metav1.GroupVersion(gv), int(p.Group), int(p.Version))
		if installed[gv] || gv == apiextensionsv1.SchemeGroupVersion {
			local[gv] = apiservice.Priority(p)
		}
	}
	gc.AggregatedDiscoveryGroupManager.SetGroupVersionPriority(metav1.GroupVersion(apiregistrationv1.SchemeGroupVersion), apis.APIRegistrationGroupPriority, 15)

	client, err := aggregatorclient.NewForConfig(gc.LoopbackClientConfig)
	if err != nil {
		return fmt.Errorf("apiregistration client: %w", err)
	}
	factory := aggregatorinformers.NewSharedInformerFactory(client, 10*time.Minute)
	ctrl, err := apiservice.New(apiservice.Config{
		Client:   client.ApiregistrationV1(),
		Kube:     kube,
		Informer: factory.Apiregistration().V1().APIServices(),
		CRDs:     crds.Informers.Apiextensions().V1().CustomResourceDefinitions(),
		Local:    local,
	})
	if err != nil {
		return err
	}
	return srv.AddPostStartHook("kubelite-apiservices", func(ctx genericapiserver.PostStartHookContext) error {
		factory.Start(ctx.Done())
		go func() {
			if err := ctrl.Run(ctx, 2); err != nil {
				klog.FromContext(ctx).Error(err, "APIService controller stopped")
			}
		}()
		return nil
	})
}

// startedInformers is the process's informer factory as the API server's
// readiness check (informer-sync) sees it: the informers it started with,
// which admission needs. The scheduler and the controllers take informers
// from the same factory once the server serves; /readyz does not turn false
// while their caches fill, as kube-apiserver's does not for its clients'.
type startedInformers struct {
	informers.SharedInformerFactory

	mu  sync.Mutex
	own map[reflect.Type]bool // nil until the first Start
}

// Start starts the informers requested so far; the first call fixes which
// informers are the API server's own.
func (f *startedInformers) Start(stop <-chan struct{}) {
	f.SharedInformerFactory.Start(stop)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.own == nil {
		// With a closed channel this only lists what has started.
		closed := make(chan struct{})
		close(closed)
		f.own = map[reflect.Type]bool{}
		for t := range f.SharedInformerFactory.WaitForCacheSync(closed) {
			f.own[t] = true
		}
	}
}

// WaitForCacheSync waits for the API server's own informers only.
func (f *startedInformers) WaitForCacheSync(stop <-chan struct{}) map[reflect.Type]bool {
	synced := f.SharedInformerFactory.WaitForCacheSync(stop)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.own != nil {
		maps.DeleteFunc(synced, func(t reflect.Type, _ bool) bool { return !f.own[t] })
	}
	return synced
}
