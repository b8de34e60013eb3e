package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"

	"github.com/kubelite/kubelite/controllers/certificates"
	"github.com/kubelite/kubelite/controllers/clusterdns"
	"github.com/kubelite/kubelite/controllers/clusterroleaggregation"
	"github.com/kubelite/kubelite/controllers/cronjob"
	"github.com/kubelite/kubelite/controllers/daemonset"
	"github.com/kubelite/kubelite/controllers/deployment"
	"github.com/kubelite/kubelite/controllers/disruption"
	"github.com/kubelite/kubelite/controllers/endpoints"
	"github.com/kubelite/kubelite/controllers/endpointslice"
	"github.com/kubelite/kubelite/controllers/garbagecollector"
	"github.com/kubelite/kubelite/controllers/job"
	"github.com/kubelite/kubelite/controllers/namespace"
	"github.com/kubelite/kubelite/controllers/nodelifecycle"
	"github.com/kubelite/kubelite/controllers/persistentvolume"
	"github.com/kubelite/kubelite/controllers/persistentvolume/localpath"
	"github.com/kubelite/kubelite/controllers/podautoscaler"
	"github.com/kubelite/kubelite/controllers/podgc"
	"github.com/kubelite/kubelite/controllers/replicaset"
	"github.com/kubelite/kubelite/controllers/resourcequota"
	"github.com/kubelite/kubelite/controllers/rootcacert"
	"github.com/kubelite/kubelite/controllers/scope"
	"github.com/kubelite/kubelite/controllers/serviceaccount"
	"github.com/kubelite/kubelite/controllers/servicelb"
	"github.com/kubelite/kubelite/controllers/statefulset"
	"github.com/kubelite/kubelite/controllers/tainteviction"
	"github.com/kubelite/kubelite/controllers/ttlafterfinished"
	"github.com/kubelite/kubelite/controllers/volumeprotection"
	"github.com/spf13/cobra"
)

// ControllersConfig tunes the controller manager. The zero value is
// upstream's behaviour.
type ControllersConfig struct {
	// ClusterSigningCertFile and ClusterSigningKeyFile are the CA that
	// signs approved certificate requests of the kubernetes.io signers.
	// Empty: no signer runs.
	ClusterSigningCertFile, ClusterSigningKeyFile string
	// ClusterSigningDuration is the longest a signed certificate lasts.
	// Zero: a year.
	ClusterSigningDuration time.Duration
	// ServiceAccountKeyFile is the key that signs the tokens of service
	// account token Secrets. Empty: the token controller does not run.
	ServiceAccountKeyFile string
	// JobBackoff is the wait before a Job's pod is re-created after its
	// first failure, doubling with each further one. Zero: 10 s. Tests
	// shorten it.
	JobBackoff time.Duration
	// QuotaResync is how often every ResourceQuota is recalculated. Zero:
	// 5 minutes.
	QuotaResync time.Duration
	// HPASyncPeriod is how often each HorizontalPodAutoscaler is reconciled,
	// and how long a new one waits for its first. Zero: 15 s (upstream's
	// --horizontal-pod-autoscaler-sync-period).
	HPASyncPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may go without renewing its
	// Lease or posting status before it is Unknown and tainted unreachable.
	// Zero: 50 s (upstream's --node-monitor-grace-period).
	NodeMonitorGracePeriod time.Duration
	// NodeStartupGracePeriod is the same for a node that never posted a
	// Ready condition, from its creation. Zero: 60 s.
	NodeStartupGracePeriod time.Duration
	// PodGCQuarantine is how long a node must be missing before the pod
	// garbage collector deletes its pods. Zero: 40 s.
	PodGCQuarantine time.Duration
	// TerminatedPodGCThreshold is how many terminated pods may stay before
	// the oldest are deleted. Zero: 12500 (upstream's
	// --terminated-pod-gc-threshold); negative: no limit.
	TerminatedPodGCThreshold int
	// LocalPathDir is where the built-in local-path provisioner keeps the
	// volumes of this machine's node. Zero: storage in the default data
	// dir; `kubelite server` uses storage in its --data-dir.
	LocalPathDir string
	// NodeIPAM assigns the Nodes' pod CIDRs.
	NodeIPAM NodeIPAMConfig
}

func (c ControllersConfig) localPathDir() string {
	if c.LocalPathDir != "" {
		return c.LocalPathDir
	}
	return filepath.Join(DefaultDataDir(), "storage")
}

// controllerManagerLease is the Lease in kube-system that the active
// controller manager holds, as upstream kube-controller-manager's.
const controllerManagerLease = "kube-controller-manager"

// runControllerManager runs the controllers while this process holds the
// controller manager's Lease: of several servers on one etcd, one set of
// controllers is active. identity names this process in the Lease.
//
// shared is the process's informer factory, started for as long as ctx:
// each term takes its informers from it and leaves them, filled, for the
// next (see the scope package). credentials, when set, give each
// controller a service account's.
func runControllerManager(ctx context.Context, cfg *rest.Config, shared informers.SharedInformerFactory, identity string, rootCA []byte, tuning ControllersConfig, started func(), credentials controllerCredentials) error {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "kubelite-controller-manager"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controller manager client: %w", err)
	}
	return runElected(ctx, client, controllerManagerLease, identity, func(term context.Context) error {
		return runControllers(term, cfg, scope.New(ctx, shared), rootCA, tuning, started, credentials)
	})
}

// Validate reports bad settings.
func (c ControllersConfig) Validate() error {
	if c.JobBackoff < 0 || c.NodeMonitorGracePeriod < 0 || c.NodeStartupGracePeriod < 0 || c.PodGCQuarantine < 0 {
		return fmt.Errorf("controller durations must not be negative")
	}
	return c.NodeIPAM.Validate()
}

// addControllerFlags adds upstream kube-controller-manager's flags for the
// settings of c that have one.
func addControllerFlags(fs *pflag.FlagSet, c *ControllersConfig) {
	fs.DurationVar(&c.NodeMonitorGracePeriod, "node-monitor-grace-period", nodelifecycle.DefaultGracePeriod,
		"Amount of time a running node may go without renewing its Lease or posting status before it is marked Unknown and tainted unreachable.")
	fs.DurationVar(&c.NodeStartupGracePeriod, "node-startup-grace-period", nodelifecycle.DefaultStartupGracePeriod,
		"Amount of time a node that never posted status may stay unresponsive before it is marked unhealthy.")
	fs.StringVar(&c.ClusterSigningCertFile, "cluster-signing-cert-file", c.ClusterSigningCertFile, "PEM-encoded X509 CA certificate that signs the certificates of the kubernetes.io signers. Empty: no signing.")
	fs.StringVar(&c.ClusterSigningKeyFile, "cluster-signing-key-file", c.ClusterSigningKeyFile, "PEM-encoded private key of --cluster-signing-cert-file.")
	fs.DurationVar(&c.ClusterSigningDuration, "cluster-signing-duration", certificates.DefaultDuration, "The max length of duration signed certificates will be given. Individual CSRs may request shorter certs by setting spec.expirationSeconds.")
	fs.StringVar(&c.ServiceAccountKeyFile, "service-account-private-key-file", c.ServiceAccountKeyFile, "Filename containing a PEM-encoded private ECDSA key used to sign service account tokens (the API server's service account key).")
	addNodeIPAMFlags(fs, &c.NodeIPAM)
	fs.Var(&gcThreshold{&c.TerminatedPodGCThreshold}, "terminated-pod-gc-threshold",
		"Number of terminated pods that can exist before the terminated pod garbage collector starts deleting terminated pods. If <= 0, the terminated pod garbage collector is disabled.")
}

// gcThreshold is the --terminated-pod-gc-threshold flag: upstream's 0 or
// less disables the collector, which ControllersConfig spells negative.
type gcThreshold struct{ v *int }

func (g *gcThreshold) String() string {
	if g.v == nil || *g.v == 0 {
		return strconv.Itoa(podgc.DefaultTerminatedThreshold)
	}
	return strconv.Itoa(max(*g.v, 0))
}

func (g *gcThreshold) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return err
	}
	*g.v = n
	if n <= 0 {
		*g.v = -1
	}
	return nil
}

func (g *gcThreshold) Type() string { return "int" }

// runControllers runs the controller manager's controllers against the API
// server that cfg reaches, until ctx ends. Each controller is wired here,
// explicitly, in one place. rootCA is the PEM bundle that verifies the API
// server, published in every namespace. started, when set, is called once
// the controllers' caches (the garbage collector's graph included) are
// filled. The controllers take their informers from factory, and remove
// their handlers from them when they stop. credentials, when set, give each
// controller a service account's for its writes.
func runControllers(ctx context.Context, cfg *rest.Config, factory *scope.Scope, rootCA []byte, tuning ControllersConfig, started func(), credentials controllerCredentials) error {
	defer factory.Close()
	logger := klog.LoggerWithName(klog.FromContext(ctx), "controller-manager")
	ctx = klog.NewContext(ctx, logger)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controller client: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controller metadata client: %w", err)
	}
	// Each controller writes with credentials of its own.
	clients := &controllerClients{base: cfg, shared: client, meta: meta, credentials: credentials}
	// Controllers record events through one broadcaster, each under its own
	// component name.
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := func(component string) record.EventRecorder {
		return broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
	}

	ns, err := namespace.New(namespace.Config{
		Client:    clients.kube("namespace-controller"),
		Metadata:  clients.metadata("namespace-controller"),
		Discovery: client.Discovery(),
		Informer:  factory.Core().V1().Namespaces(),
	})
	if err != nil {
		return fmt.Errorf("namespace controller: %w", err)
	}

	aggregation, err := clusterroleaggregation.New(clusterroleaggregation.Config{
		Client:   clients.kube("clusterrole-aggregation-controller"),
		Informer: factory.Rbac().V1().ClusterRoles(),
	})
	if err != nil {
		return fmt.Errorf("clusterrole aggregation controller: %w", err)
	}

	accounts, err := serviceaccount.New(serviceaccount.Config{
		Client:          clients.kube("service-account-controller"),
		Namespaces:      factory.Core().V1().Namespaces(),
		ServiceAccounts: factory.Core().V1().ServiceAccounts(),
	})
	if err != nil {
		return err
	}

	// The publisher needs only its own config map in each namespace, not
	// every config map in the cluster.
	rootCAFactory := sharedInformers(client,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", rootcacert.Name).String()
		}))
	publisher, err := rootcacert.New(rootcacert.Config{
		Client:     clients.kube("root-ca-cert-publisher"),
		RootCA:     rootCA,
		Namespaces: factory.Core().V1().Namespaces(),
		ConfigMaps: rootCAFactory.Core().V1().ConfigMaps(),
	})
	if err != nil {
		return err
	}

	budgets, err := disruption.New(disruption.Config{
		Client:                 clients.kube("disruption-controller"),
		PodDisruptionBudgets:   factory.Policy().V1().PodDisruptionBudgets(),
		Pods:                   factory.Core().V1().Pods(),
		ReplicaSets:            factory.Apps().V1().ReplicaSets(),
		Deployments:            factory.Apps().V1().Deployments(),
		StatefulSets:           factory.Apps().V1().StatefulSets(),
		ReplicationControllers: factory.Core().V1().ReplicationControllers(),
	})
	if err != nil {
		return err
	}

	gc, err := garbagecollector.New(garbagecollector.Config{
		Metadata:  clients.metadata("generic-garbage-collector"),
		Discovery: client.Discovery(),
		Events:    recorder("garbage-collector-controller"),
		Informers: typedInformers(factory),
	})
	if err != nil {
		return err
	}

	replicaSets, err := replicaset.New(replicaset.Config{
		Client:      clients.kube("replicaset-controller"),
		Pods:        factory.Core().V1().Pods(),
		ReplicaSets: factory.Apps().V1().ReplicaSets(),
		Events:      recorder("replicaset-controller"),
	})
	if err != nil {
		return err
	}
	replicationControllers, err := replicaset.New(replicaset.Config{
		Client:                 clients.kube("replication-controller"),
		Pods:                   factory.Core().V1().Pods(),
		ReplicationControllers: factory.Core().V1().ReplicationControllers(),
		Events:                 recorder("replication-controller"),
	})
	if err != nil {
		return err
	}

	deployments, err := deployment.New(deployment.Config{
		Client:      clients.kube("deployment-controller"),
		Deployments: factory.Apps().V1().Deployments(),
		ReplicaSets: factory.Apps().V1().ReplicaSets(),
		Pods:        factory.Core().V1().Pods(),
		Events:      recorder("deployment-controller"),
	})
	if err != nil {
		return err
	}

	// The endpoints and endpointslice controllers leave Services without a
	// selector alone; the mirroring controller copies their users' Endpoints
	// into slices, but not those of kubernetes in default (labelled
	// skip-mirror), whose Endpoints and slice the API server writes.
	endpointsCtl, err := endpoints.New(endpoints.Config{
		Client:    clients.kube("endpoint-controller"),
		Services:  factory.Core().V1().Services(),
		Pods:      factory.Core().V1().Pods(),
		Endpoints: factory.Core().V1().Endpoints(),
		Events:    recorder("endpoint-controller"),
	})
	if err != nil {
		return err
	}
	slicesCtl, err := endpointslice.New(endpointslice.Config{
		Client:         clients.kube("endpointslice-controller"),
		Services:       factory.Core().V1().Services(),
		Pods:           factory.Core().V1().Pods(),
		Nodes:          factory.Core().V1().Nodes(),
		EndpointSlices: factory.Discovery().V1().EndpointSlices(),
		Events:         recorder("endpointslice-controller"),
	})
	if err != nil {
		return err
	}

	mirroring, err := endpointslice.NewMirroring(endpointslice.MirroringConfig{
		Client:         clients.kube("endpointslicemirroring-controller"),
		Services:       factory.Core().V1().Services(),
		Endpoints:      factory.Core().V1().Endpoints(),
		EndpointSlices: factory.Discovery().V1().EndpointSlices(),
		Events:         recorder("endpointslice-mirroring-controller"),
	})
	if err != nil {
		return err
	}

	// LoadBalancer Services get the proxy nodes' addresses, as a cluster
	// on local machines answers them; kube-dns gets the nodes' DNS servers.
	serviceLB, err := servicelb.New(servicelb.Config{
		Client:   clients.kube("service-controller"),
		Services: factory.Core().V1().Services(),
		Nodes:    factory.Core().V1().Nodes(),
	})
	if err != nil {
		return err
	}
	clusterDNS, err := clusterdns.New(clusterdns.Config{
		Client:         clients.kube("endpointslice-controller"),
		Nodes:          factory.Core().V1().Nodes(),
		Services:       factory.Core().V1().Services(),
		EndpointSlices: factory.Discovery().V1().EndpointSlices(),
	})
	if err != nil {
		return err
	}

	jobs, err := job.New(job.Config{
		Client:  clients.kube("job-controller"),
		Jobs:    factory.Batch().V1().Jobs(),
		Pods:    factory.Core().V1().Pods(),
		Events:  recorder("job-controller"),
		Backoff: tuning.JobBackoff,
	})
	if err != nil {
		return err
	}

	statefulSets, err := statefulset.New(statefulset.Config{
		Client:       clients.kube("statefulset-controller"),
		StatefulSets: factory.Apps().V1().StatefulSets(),
		Pods:         factory.Core().V1().Pods(),
		Claims:       factory.Core().V1().PersistentVolumeClaims(),
		Revisions:    factory.Apps().V1().ControllerRevisions(),
		Events:       recorder("statefulset-controller"),
	})
	if err != nil {
		return err
	}

	daemonSets, err := daemonset.New(daemonset.Config{
		Client:     clients.kube("daemon-set-controller"),
		DaemonSets: factory.Apps().V1().DaemonSets(),
		Pods:       factory.Core().V1().Pods(),
		Nodes:      factory.Core().V1().Nodes(),
		Revisions:  factory.Apps().V1().ControllerRevisions(),
		Events:     recorder("daemonset-controller"),
	})
	if err != nil {
		return err
	}

	ttl, err := ttlafterfinished.New(ttlafterfinished.Config{
		Client: clients.kube("ttl-after-finished-controller"),
		Jobs:   factory.Batch().V1().Jobs(),
	})
	if err != nil {
		return err
	}

	nodeLifecycle, err := nodelifecycle.New(nodelifecycle.Config{
		Client:             clients.kube("node-controller"),
		Nodes:              factory.Core().V1().Nodes(),
		Leases:             factory.Coordination().V1().Leases(),
		Pods:               factory.Core().V1().Pods(),
		Events:             recorder("node-controller"),
		GracePeriod:        tuning.NodeMonitorGracePeriod,
		StartupGracePeriod: tuning.NodeStartupGracePeriod,
	})
	if err != nil {
		return err
	}

	cronJobs, err := cronjob.New(cronjob.Config{
		Client:   clients.kube("cronjob-controller"),
		CronJobs: factory.Batch().V1().CronJobs(),
		Jobs:     factory.Batch().V1().Jobs(),
		Events:   recorder("cronjob-controller"),
	})
	if err != nil {
		return err
	}

	taintEviction, err := tainteviction.New(tainteviction.Config{
		Client: clients.kube("node-controller"),
		Pods:   factory.Core().V1().Pods(),
		Nodes:  factory.Core().V1().Nodes(),
		Events: recorder("taint-eviction-controller"),
	})
	if err != nil {
		return err
	}

	// The quota and autoscaler controllers resolve kinds and resources
	// through one cached discovery.
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	quotas, err := resourcequota.New(resourcequota.Config{
		Client:       clients.kube("resourcequota-controller"),
		Informers:    factory,
		Metadata:     clients.metadata("resourcequota-controller"),
		Mapper:       mapper,
		ResyncPeriod: tuning.QuotaResync,
	})
	if err != nil {
		return err
	}

	podGC, err := podgc.New(podgc.Config{
		Client:              clients.kube("pod-garbage-collector"),
		Pods:                factory.Core().V1().Pods(),
		Nodes:               factory.Core().V1().Nodes(),
		TerminatedThreshold: tuning.TerminatedPodGCThreshold,
		Quarantine:          tuning.PodGCQuarantine,
	})
	if err != nil {
		return err
	}

	volumes, err := persistentvolume.New(persistentvolume.Config{
		Client:  clients.kube("persistent-volume-binder"),
		Claims:  factory.Core().V1().PersistentVolumeClaims(),
		Volumes: factory.Core().V1().PersistentVolumes(),
		Classes: factory.Storage().V1().StorageClasses(),
		Nodes:   factory.Core().V1().Nodes(),
		Events:  recorder("persistentvolume-controller"),
		Provisioners: map[string]persistentvolume.Provisioner{
			localpath.Name: &localpath.Provisioner{Root: tuning.localPathDir(), LocalNode: localNodeName()},
		},
	})
	if err != nil {
		return err
	}
	protection, err := volumeprotection.New(volumeprotection.Config{
		Client:       clients.kube("pvc-protection-controller"),
		Claims:       factory.Core().V1().PersistentVolumeClaims(),
		Volumes:      factory.Core().V1().PersistentVolumes(),
		Pods:         factory.Core().V1().Pods(),
		VolumeClient: clients.kube("pv-protection-controller"),
	})
	if err != nil {
		return err
	}

	scales, err := scale.NewForConfig(clients.config("horizontal-pod-autoscaler"), mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(client.Discovery()))
	if err != nil {
		return fmt.Errorf("scale client: %w", err)
	}
	podMetrics, err := metricsclient.NewForConfig(clients.config("horizontal-pod-autoscaler"))
	if err != nil {
		return fmt.Errorf("resource metrics client: %w", err)
	}
	autoscalers, err := podautoscaler.New(podautoscaler.Config{
		Client:     clients.kube("horizontal-pod-autoscaler"),
		HPAs:       factory.Autoscaling().V2().HorizontalPodAutoscalers(),
		Pods:       factory.Core().V1().Pods(),
		Scales:     scales,
		Mapper:     mapper,
		Metrics:    podautoscaler.ResourceMetrics{Client: podMetrics},
		Events:     recorder("horizontal-pod-autoscaler"),
		SyncPeriod: tuning.HPASyncPeriod,
	})
	if err != nil {
		return err
	}

	nodeIPAM, err := newNodeIPAM(tuning.NodeIPAM, clients, factory, recorder("node-ipam-controller"))
	if err != nil {
		return fmt.Errorf("node IPAM controller: %w", err)
	}

	if clients.err != nil {
		return clients.err
	}

	runs := []struct {
		name string
		run  func(context.Context) error
	}{
		{"namespace", func(ctx context.Context) error { return ns.Run(ctx, 2) }},
		{"clusterrole-aggregation", func(ctx context.Context) error { return aggregation.Run(ctx, 2) }},
		{"serviceaccount", func(ctx context.Context) error { return accounts.Run(ctx, 2) }},
		{"root-ca-cert-publisher", func(ctx context.Context) error { return publisher.Run(ctx, 2) }},
		{"disruption", func(ctx context.Context) error { return budgets.Run(ctx, 2) }},
		{"garbage-collector", func(ctx context.Context) error { return gc.Run(ctx, 4) }},
		{"replicaset", func(ctx context.Context) error { return replicaSets.Run(ctx, 4) }},
		{"replicationcontroller", func(ctx context.Context) error { return replicationControllers.Run(ctx, 2) }},
		{"deployment", func(ctx context.Context) error { return deployments.Run(ctx, 4) }},
		{"endpoint", func(ctx context.Context) error { return endpointsCtl.Run(ctx, 2) }},
		{"endpointslice", func(ctx context.Context) error { return slicesCtl.Run(ctx, 2) }},
		{"endpointslice-mirroring", func(ctx context.Context) error { return mirroring.Run(ctx, 2) }},
		{"service-lb", func(ctx context.Context) error { return serviceLB.Run(ctx, 1) }},
		{"cluster-dns", func(ctx context.Context) error { return clusterDNS.Run(ctx, 1) }},
		{"job", func(ctx context.Context) error { return jobs.Run(ctx, 4) }},
		{"statefulset", func(ctx context.Context) error { return statefulSets.Run(ctx, 4) }},
		{"daemonset", func(ctx context.Context) error { return daemonSets.Run(ctx, 2) }},
		{"ttl-after-finished", func(ctx context.Context) error { return ttl.Run(ctx, 2) }},
		{"persistentvolume-binder", func(ctx context.Context) error { return volumes.Run(ctx, 2) }},
		{"volume-protection", func(ctx context.Context) error { return protection.Run(ctx, 2) }},
		{"node-lifecycle", func(ctx context.Context) error { return nodeLifecycle.Run(ctx, 4) }},
		{"taint-eviction", func(ctx context.Context) error { return taintEviction.Run(ctx, 4) }},
		{"pod-garbage-collector", func(ctx context.Context) error { return podGC.Run(ctx, 2) }},
		{"cronjob", func(ctx context.Context) error { return cronJobs.Run(ctx, 2) }},
		{"resourcequota", func(ctx context.Context) error { return quotas.Run(ctx, 5) }},
		{"horizontal-pod-autoscaler", func(ctx context.Context) error { return autoscalers.Run(ctx, 2) }},
	}
	if nodeIPAM != nil {
		runs = append(runs, struct {
			name string
			run  func(context.Context) error
		}{"node-ipam", func(ctx context.Context) error { return nodeIPAM.Run(ctx, 1) }})
	}
	authRuns, authFactories, err := authControllers(client, clients, factory, rootCA, tuning)
	if err != nil {
		return err
	}
	runs = append(runs, authRuns...)
	factory.Start(ctx.Done())
	rootCAFactory.Start(ctx.Done())
	for _, f := range authFactories {
		f.Start(ctx.Done())
	}
	var wg sync.WaitGroup
	if started != nil {
		wg.Go(func() {
			factory.WaitForCacheSync(ctx.Done())
			rootCAFactory.WaitForCacheSync(ctx.Done())
			err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
				return gc.HasSynced(), nil
			})
			if err == nil {
				started()
			}
		})
	}
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.run(ctx); err != nil {
				logger.Error(err, "controller stopped", "controller", r.name)
			}
		}()
	}
	wg.Wait()
	rootCAFactory.Shutdown()
	for _, f := range authFactories {
		f.Shutdown()
	}
	return nil
}

// ControllerManagerConfig configures `kubelite controller-manager`, the
// controllers as a process of their own. Zero values take the defaults in
// the comments.
type ControllerManagerConfig struct {
	// Kubeconfig reaches the API server. Required.
	Kubeconfig string
	// RootCAFile is the CA bundle published in every namespace as
	// kube-root-ca.crt. Empty: the CA the kubeconfig trusts.
	RootCAFile string
	// LeaderElect runs the controllers only while this process holds the
	// Lease kube-system/kube-controller-manager.
	LeaderElect bool
	// QPS and Burst limit the controllers' requests together, as
	// kube-controller-manager's --kube-api-qps and --kube-api-burst.
	QPS   float32
	Burst int
	// Controllers tunes the controllers.
	Controllers ControllersConfig
}

// Validate reports bad settings without side effects.
func (c ControllerManagerConfig) Validate() error {
	if c.Kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	if c.QPS < 0 || c.Burst < 0 {
		return errors.New("--kube-api-qps and --kube-api-burst must not be negative")
	}
	return c.Controllers.Validate()
}

func newControllerManagerCommand() *cobra.Command {
	cfg := ControllerManagerConfig{LeaderElect: true, QPS: 20, Burst: 30}
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "Run kubelite's controllers against an API server",
		Long: `Run kubelite's controllers as a process of their own: the garbage collector, namespace,
ReplicaSet, Deployment, Job, endpoints and the other loops that keep the cluster's actual
state where its objects say it should be. ` + "`kubelite server`" + ` runs the same controllers in-process.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
			if err != nil {
				return fmt.Errorf("load kubeconfig: %w", err)
			}
			rc.QPS, rc.Burst = cfg.QPS, cfg.Burst
			rootCA := rc.CAData
			if cfg.RootCAFile != "" || len(rootCA) == 0 {
				file := cfg.RootCAFile
				if file == "" {
					file = rc.CAFile
				}
				if rootCA, err = os.ReadFile(file); err != nil {
					return fmt.Errorf("root CA: %w", err)
				}
			}
			ctx, cancel := signalContext()
			defer cancel()
			client, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return err
			}
			factory := sharedInformers(client)
			defer factory.Shutdown()
			if !cfg.LeaderElect {
				return runControllers(ctx, rc, scope.New(ctx, factory), rootCA, cfg.Controllers, nil, nil)
			}
			host, _ := os.Hostname()
			return runControllerManager(ctx, rc, factory, host+"_"+string(uuid.NewUUID()), rootCA, cfg.Controllers, nil, nil)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig that reaches the API server.")
	fs.StringVar(&cfg.RootCAFile, "root-ca-file", "", "If set, this root certificate authority will be included in every namespace's kube-root-ca.crt ConfigMap. Default: the CA of --kubeconfig.")
	fs.BoolVar(&cfg.LeaderElect, "leader-elect", cfg.LeaderElect, "Run the controllers only while holding the kube-system/kube-controller-manager Lease, so that of several controller managers one is active.")
	fs.Float32Var(&cfg.QPS, "kube-api-qps", cfg.QPS, "QPS to use while talking with the API server.")
	fs.IntVar(&cfg.Burst, "kube-api-burst", cfg.Burst, "Burst to use while talking with the API server.")
	addControllerFlags(fs, &cfg.Controllers)
	fs.SetNormalizeFunc(pflag.CommandLine.GetNormalizeFunc())
	return cmd
}

// localNodeName is the name this machine's node agent registers by
// default: the host name, lower-cased.
func localNodeName() string {
	host, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.ToLower(host)
}

// controllerResources are the resources whose typed informers the
// controllers take from their factory. The garbage collector watches them
// through those, not with a metadata informer of its own: one watch and
// cache of each, as upstream's controller manager gives its collector the
// typed informers. (A resource missing here is only watched twice.)
var controllerResources = []schema.GroupVersionResource{
	corev1.SchemeGroupVersion.WithResource("pods"),
	corev1.SchemeGroupVersion.WithResource("nodes"),
	corev1.SchemeGroupVersion.WithResource("namespaces"),
	corev1.SchemeGroupVersion.WithResource("services"),
	corev1.SchemeGroupVersion.WithResource("endpoints"),
	corev1.SchemeGroupVersion.WithResource("serviceaccounts"),
	corev1.SchemeGroupVersion.WithResource("replicationcontrollers"),
	appsv1.SchemeGroupVersion.WithResource("deployments"),
	appsv1.SchemeGroupVersion.WithResource("replicasets"),
	appsv1.SchemeGroupVersion.WithResource("statefulsets"),
	batchv1.SchemeGroupVersion.WithResource("jobs"),
	batchv1.SchemeGroupVersion.WithResource("cronjobs"),
	autoscalingv2.SchemeGroupVersion.WithResource("horizontalpodautoscalers"),
	coordinationv1.SchemeGroupVersion.WithResource("leases"),
	policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets"),
	discoveryv1.SchemeGroupVersion.WithResource("endpointslices"),
	corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"),
	corev1.SchemeGroupVersion.WithResource("persistentvolumes"),
	storagev1.SchemeGroupVersion.WithResource("storageclasses"),
	rbacv1.SchemeGroupVersion.WithResource("clusterroles"),
	appsv1.SchemeGroupVersion.WithResource("daemonsets"),
	appsv1.SchemeGroupVersion.WithResource("controllerrevisions"),
	// Watched for admission, quota and the scheduler in the same factory.
	corev1.SchemeGroupVersion.WithResource("configmaps"),
	corev1.SchemeGroupVersion.WithResource("secrets"),
	corev1.SchemeGroupVersion.WithResource("limitranges"),
	corev1.SchemeGroupVersion.WithResource("resourcequotas"),
	nodev1.SchemeGroupVersion.WithResource("runtimeclasses"),
	storagev1.SchemeGroupVersion.WithResource("csinodes"),
}

// typedInformers returns, for the garbage collector, the typed informer of
// factory for each resource the process already watches: those of
// controllerResources, and any other whose informer someone (admission, the
// authorizers, another controller) has started in factory by the time the
// collector asks. Other resources get the collector's own metadata informers.
func typedInformers(factory informers.SharedInformerFactory) func(schema.GroupVersionResource) cache.SharedIndexInformer {
	byResource := map[schema.GroupVersionResource]cache.SharedIndexInformer{}
	for _, gvr := range controllerResources {
		if i, err := factory.ForResource(gvr); err == nil {
			byResource[gvr] = i.Informer()
		}
	}
	types := objectTypes()
	return func(gvr schema.GroupVersionResource) cache.SharedIndexInformer {
		if i, ok := byResource[gvr]; ok {
			return i
		}
		t, ok := types[gvr]
		if !ok {
			return nil
		}
		// With a closed channel this only lists what has started.
		closed := make(chan struct{})
		close(closed)
		if _, started := factory.WaitForCacheSync(closed)[t]; !started {
			return nil
		}
		i, err := factory.ForResource(gvr)
		if err != nil {
			return nil
		}
		return i.Informer()
	}
}

// objectTypes maps each resource of client-go's scheme to the type of its
// objects, as informer factories key their informers.
func objectTypes() map[schema.GroupVersionResource]reflect.Type {
	out := map[schema.GroupVersionResource]reflect.Type{}
	for gvk, t := range scheme.Scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal || strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		out[plural] = reflect.PointerTo(t)
	}
	return out
}

// sharedInformers returns an informer factory whose caches leave out each
// object's managedFields, as upstream's controller manager and scheduler
// do: no component reads them from a cache, and they are a large part of
// every object. (An update without managedFields keeps the stored ones.)
func sharedInformers(client kubernetes.Interface, opts ...informers.SharedInformerOption) informers.SharedInformerFactory {
	strip := func(obj any) (any, error) {
		if m, ok := obj.(metav1.Object); ok {
			m.SetManagedFields(nil)
		}
		return obj, nil
	}
	return informers.NewSharedInformerFactoryWithOptions(client, 0, append(opts, informers.WithTransform(strip))...)
}
