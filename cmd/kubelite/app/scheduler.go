package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/scheduler"
)

// schedulerLease is the Lease in kube-system that the active scheduler
// holds, as upstream kube-scheduler's.
const schedulerLease = "kube-scheduler"

// SchedulerConfig configures `kubelite scheduler`, the scheduler as a
// process of its own. Zero values take the defaults in the comments.
type SchedulerConfig struct {
	// Kubeconfig reaches the API server. Required.
	Kubeconfig string
	// LeaderElect runs the scheduler only while it holds the Lease
	// kube-system/kube-scheduler.
	LeaderElect bool
	// QPS and Burst limit the scheduler's requests, as kube-scheduler's
	// --kube-api-qps and --kube-api-burst. Default: 50 and 100.
	QPS   float32
	Burst int
	// Name is the schedulerName of the pods it places. Default:
	// default-scheduler.
	Name string
	// ProfilingAddress, when set, serves Go's /debug/pprof/ handlers over
	// plain HTTP on this address, which must be a loopback one: they have
	// no authentication (kubelite server's scheduler is profiled through
	// the API server's /debug/pprof, which is authorized). Empty: off.
	ProfilingAddress string
}

// Validate reports bad settings without side effects.
func (c SchedulerConfig) Validate() error {
	if c.Kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	if c.QPS < 0 || c.Burst < 0 {
		return errors.New("--kube-api-qps and --kube-api-burst must not be negative")
	}
	if c.ProfilingAddress != "" {
		host, _, err := net.SplitHostPort(c.ProfilingAddress)
		if err != nil {
			return fmt.Errorf("--profiling-address: %w", err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("--profiling-address %s: must be a loopback address, as the profiles are served without authentication", c.ProfilingAddress)
		}
	}
	return nil
}

func newSchedulerCommand() *cobra.Command {
	cfg := SchedulerConfig{LeaderElect: true, QPS: 50, Burst: 100}
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run kubelite's scheduler against an API server",
		Long: `Run kubelite's scheduler as a process of its own: it places the pending pods whose
spec.schedulerName is its name on nodes, as kube-scheduler's default profile does.
` + "`kubelite server`" + ` runs the same scheduler in-process.`,
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
			ctx, cancel := signalContext()
			defer cancel()
			if cfg.ProfilingAddress != "" {
				if err := serveProfiling(ctx, cfg.ProfilingAddress); err != nil {
					return err
				}
			}
			if !cfg.LeaderElect {
				return runSchedulerOnce(ctx, rc, cfg.Name)
			}
			host, _ := os.Hostname()
			return runScheduler(ctx, rc, nil, host+"_"+string(uuid.NewUUID()), cfg.Name)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig that reaches the API server.")
	fs.BoolVar(&cfg.LeaderElect, "leader-elect", cfg.LeaderElect, "Schedule only while holding the kube-system/kube-scheduler Lease, so that of several schedulers one is active.")
	fs.Float32Var(&cfg.QPS, "kube-api-qps", cfg.QPS, "QPS to use while talking with the API server.")
	fs.IntVar(&cfg.Burst, "kube-api-burst", cfg.Burst, "Burst to use while talking with the API server.")
	fs.StringVar(&cfg.Name, "scheduler-name", scheduler.DefaultName, "Place only pods whose spec.schedulerName is this.")
	fs.StringVar(&cfg.ProfilingAddress, "profiling-address", "", "Serve /debug/pprof/ over plain HTTP on this loopback address, e.g. 127.0.0.1:10251 (without authentication, so other addresses are refused). Empty: off.")
	fs.SetNormalizeFunc(pflag.CommandLine.GetNormalizeFunc())
	return cmd
}

// runScheduler runs the scheduler against the API server that cfg
// reaches, until ctx ends, while it holds the scheduler's Lease: of
// several servers on one etcd, one schedules.
//
// shared, when set, is the informer factory of the process's other
// components: the scheduler's informers come from it and run as long as
// ctx, whoever holds the Lease. Otherwise each term as leader has its own.
func runScheduler(ctx context.Context, cfg *rest.Config, shared informers.SharedInformerFactory, identity, name string) error {
	client, events, err := schedulerClients(cfg)
	if err != nil {
		return err
	}
	term := func(ctx context.Context) error { return schedule(ctx, client, events, name) }
	if shared != nil {
		// The caches are filled once, before any term: a scheduler that
		// wins the Lease starts from them at once.
		fromShared := schedulerInformers(shared, shared.Core().V1().Pods())
		shared.Start(ctx.Done())
		term = func(ctx context.Context) error { return runSchedulerTerm(ctx, client, events, name, fromShared) }
	}
	return runElected(ctx, client, schedulerLease, identity, term)
}

// runSchedulerOnce runs the scheduler without leader election.
func runSchedulerOnce(ctx context.Context, cfg *rest.Config, name string) error {
	client, events, err := schedulerClients(cfg)
	if err != nil {
		return err
	}
	return schedule(ctx, client, events, name)
}

// schedulerClients returns the scheduler's clients, made as kube-scheduler
// makes them: protobuf, no compression, and a second client for events, so
// that events take no share of the bindings' rate limit. Both send their
// requests over schedulerConnections connections (spreadConnections).
func schedulerClients(cfg *rest.Config) (client, events kubernetes.Interface, err error) {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.DisableCompression = true
	cfg.UserAgent = "kubelite-scheduler"
	if cfg, err = spreadConnections(cfg, schedulerConnections); err != nil {
		return nil, nil, fmt.Errorf("scheduler client: %w", err)
	}
	if client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, nil, fmt.Errorf("scheduler client: %w", err)
	}
	if events, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, nil, fmt.Errorf("scheduler events client: %w", err)
	}
	return client, events, nil
}

// schedulerConnections is how many HTTP/2 connections the scheduler's
// requests are spread over. The API server takes at most 100 concurrent
// streams on one connection (k8s.io/apiserver's default); the scheduler has
// up to 256 bindings under way (scheduler.Config.BindParallelism), the
// events of the pods bound meanwhile, and a dozen watches. On one
// connection pool past 100 streams, Go's HTTP/2 client dials a new
// connection for the request that finds every connection full, and drops
// it when a stream has freed up by the time the handshake is done: a
// scheduler binding at full speed handshook over and over, ~6% of its CPU
// and ~3% of the server's.
const schedulerConnections = 4

// spreadConnections returns a copy of cfg whose requests go round-robin
// over n connections of their own: n transports made from cfg, each with
// its own dialer, which client-go's transport cache never shares.
func spreadConnections(cfg *rest.Config, n int) (*rest.Config, error) {
	if cfg.Transport != nil || cfg.WrapTransport != nil {
		return cfg, nil // the caller's transport decides
	}
	rr := &roundRobin{}
	for range n {
		c := rest.CopyConfig(cfg)
		c.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		rt, err := rest.TransportFor(c)
		if err != nil {
			return nil, err
		}
		rr.transports = append(rr.transports, rt)
	}
	// The transports carry the TLS settings and the credentials.
	out := rest.CopyConfig(cfg)
	out.TLSClientConfig = rest.TLSClientConfig{}
	out.BearerToken, out.BearerTokenFile, out.Username, out.Password = "", "", "", ""
	out.AuthProvider, out.ExecProvider, out.Impersonate = nil, nil, rest.ImpersonationConfig{}
	out.Transport = rr
	return out, nil
}

// roundRobin sends each request over the next of its transports.
type roundRobin struct {
	next       atomic.Uint64
	transports []http.RoundTripper
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	return r.transports[(r.next.Add(1)-1)%uint64(len(r.transports))].RoundTrip(req)
}

// schedule runs one scheduler, with informers of its own, until ctx ends.
// Its pod informer leaves out finished pods, as upstream's does.
func schedule(ctx context.Context, client, eventClient kubernetes.Interface, name string) error {
	factory := sharedInformers(client)
	podFactory := sharedInformers(client,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = "status.phase!=Succeeded,status.phase!=Failed"
		}))
	cfg := schedulerInformers(factory, podFactory.Core().V1().Pods())
	factory.Start(ctx.Done())
	podFactory.Start(ctx.Done())
	defer podFactory.Shutdown()
	defer factory.Shutdown()
	return runSchedulerTerm(ctx, client, eventClient, name, cfg)
}

// runSchedulerTerm runs one scheduler on the informers in cfg, which the
// caller starts, until ctx ends, recording events through eventClient.
func runSchedulerTerm(ctx context.Context, client, eventClient kubernetes.Interface, name string, cfg scheduler.Config) error {
	if name == "" {
		name = scheduler.DefaultName
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: eventClient.EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		return fmt.Errorf("scheduler: start event recording: %w", err)
	}
	defer broadcaster.Shutdown()
	cfg.Client, cfg.Name, cfg.Events = client, name, broadcaster.NewRecorder(scheme.Scheme, name)
	s, err := scheduler.New(cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// schedulerInformers is the scheduler's config with its informers from
// factory, pods from the given informer, each added to its factory.
func schedulerInformers(factory informers.SharedInformerFactory, pods coreinformers.PodInformer) scheduler.Config {
	cfg := scheduler.Config{
		Pods:                   pods,
		Nodes:                  factory.Core().V1().Nodes(),
		Namespaces:             factory.Core().V1().Namespaces(),
		Services:               factory.Core().V1().Services(),
		ReplicationControllers: factory.Core().V1().ReplicationControllers(),
		ReplicaSets:            factory.Apps().V1().ReplicaSets(),
		StatefulSets:           factory.Apps().V1().StatefulSets(),
		PersistentVolumeClaims: factory.Core().V1().PersistentVolumeClaims(),
		PersistentVolumes:      factory.Core().V1().PersistentVolumes(),
		StorageClasses:         factory.Storage().V1().StorageClasses(),
		CSINodes:               factory.Storage().V1().CSINodes(),
		PodDisruptionBudgets:   factory.Policy().V1().PodDisruptionBudgets(),
	}
	for _, i := range []interface {
		Informer() cache.SharedIndexInformer
	}{
		cfg.Pods, cfg.Nodes, cfg.Namespaces, cfg.Services, cfg.ReplicationControllers, cfg.ReplicaSets,
		cfg.StatefulSets, cfg.PersistentVolumeClaims, cfg.PersistentVolumes, cfg.StorageClasses, cfg.CSINodes,
		cfg.PodDisruptionBudgets,
	} {
		i.Informer()
	}
	return cfg
}

// serveProfiling serves the /debug/pprof/ handlers on addr until ctx ends.
func serveProfiling(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--profiling-address: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() { _ = srv.Serve(l) }()
	klog.FromContext(ctx).Info("Serving profiles", "address", l.Addr().String())
	return nil
}
