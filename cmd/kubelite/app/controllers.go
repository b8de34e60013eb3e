package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/clusterroleaggregation"
	"github.com/kubelite/kubelite/controllers/deployment"
	"github.com/kubelite/kubelite/controllers/disruption"
	"github.com/kubelite/kubelite/controllers/endpoints"
	"github.com/kubelite/kubelite/controllers/endpointslice"
	"github.com/kubelite/kubelite/controllers/garbagecollector"
	"github.com/kubelite/kubelite/controllers/job"
	"github.com/kubelite/kubelite/controllers/namespace"
	"github.com/kubelite/kubelite/controllers/replicaset"
	"github.com/kubelite/kubelite/controllers/rootcacert"
	"github.com/kubelite/kubelite/controllers/serviceaccount"
	"github.com/kubelite/kubelite/controllers/ttlafterfinished"
)

// ControllersConfig tunes the controller manager. The zero value is
// upstream's behaviour.
type ControllersConfig struct {
	// JobBackoff is the wait before a Job's pod is re-created after its
	// first failure, doubling with each further one. Zero: 10 s. Tests
	// shorten it.
	JobBackoff time.Duration
}

// runControllers runs the controller manager's controllers against the API
// server that cfg reaches, until ctx ends. Each controller is wired here,
// explicitly, in one place. rootCA is the PEM bundle that verifies the API
// server, published in every namespace.
func runControllers(ctx context.Context, cfg *rest.Config, rootCA []byte, tuning ControllersConfig) error {
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
	factory := informers.NewSharedInformerFactory(client, 0)
	// Controllers record events through one broadcaster, each under its own
	// component name.
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := func(component string) record.EventRecorder {
		return broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
	}

	ns, err := namespace.New(namespace.Config{
		Client:    client,
		Metadata:  meta,
		Discovery: client.Discovery(),
		Informer:  factory.Core().V1().Namespaces(),
	})
	if err != nil {
		return fmt.Errorf("namespace controller: %w", err)
	}

	aggregation, err := clusterroleaggregation.New(clusterroleaggregation.Config{
		Client:   client,
		Informer: factory.Rbac().V1().ClusterRoles(),
	})
	if err != nil {
		return fmt.Errorf("clusterrole aggregation controller: %w", err)
	}

	accounts, err := serviceaccount.New(serviceaccount.Config{
		Client:          client,
		Namespaces:      factory.Core().V1().Namespaces(),
		ServiceAccounts: factory.Core().V1().ServiceAccounts(),
	})
	if err != nil {
		return err
	}

	// The publisher needs only its own config map in each namespace, not
	// every config map in the cluster.
	rootCAFactory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", rootcacert.Name).String()
		}))
	publisher, err := rootcacert.New(rootcacert.Config{
		Client:     client,
		RootCA:     rootCA,
		Namespaces: factory.Core().V1().Namespaces(),
		ConfigMaps: rootCAFactory.Core().V1().ConfigMaps(),
	})
	if err != nil {
		return err
	}

	budgets, err := disruption.New(disruption.Config{
		Client:                 client,
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
		Metadata:  meta,
		Discovery: client.Discovery(),
		Events:    recorder("garbage-collector-controller"),
	})
	if err != nil {
		return err
	}

	replicaSets, err := replicaset.New(replicaset.Config{
		Client:      client,
		Pods:        factory.Core().V1().Pods(),
		ReplicaSets: factory.Apps().V1().ReplicaSets(),
		Events:      recorder("replicaset-controller"),
	})
	if err != nil {
		return err
	}
	replicationControllers, err := replicaset.New(replicaset.Config{
		Client:                 client,
		Pods:                   factory.Core().V1().Pods(),
		ReplicationControllers: factory.Core().V1().ReplicationControllers(),
		Events:                 recorder("replication-controller"),
	})
	if err != nil {
		return err
	}

	deployments, err := deployment.New(deployment.Config{
		Client:      client,
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
		Client:    client,
		Services:  factory.Core().V1().Services(),
		Pods:      factory.Core().V1().Pods(),
		Endpoints: factory.Core().V1().Endpoints(),
		Events:    recorder("endpoint-controller"),
	})
	if err != nil {
		return err
	}
	slicesCtl, err := endpointslice.New(endpointslice.Config{
		Client:         client,
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
		Client:         client,
		Services:       factory.Core().V1().Services(),
		Endpoints:      factory.Core().V1().Endpoints(),
		EndpointSlices: factory.Discovery().V1().EndpointSlices(),
		Events:         recorder("endpointslice-mirroring-controller"),
	})
	if err != nil {
		return err
	}

	jobs, err := job.New(job.Config{
		Client:  client,
		Jobs:    factory.Batch().V1().Jobs(),
		Pods:    factory.Core().V1().Pods(),
		Events:  recorder("job-controller"),
		Backoff: tuning.JobBackoff,
	})
	if err != nil {
		return err
	}

	ttl, err := ttlafterfinished.New(ttlafterfinished.Config{
		Client: client,
		Jobs:   factory.Batch().V1().Jobs(),
	})
	if err != nil {
		return err
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
		{"job", func(ctx context.Context) error { return jobs.Run(ctx, 4) }},
		{"ttl-after-finished", func(ctx context.Context) error { return ttl.Run(ctx, 2) }},
	}
	factory.Start(ctx.Done())
	rootCAFactory.Start(ctx.Done())
	var wg sync.WaitGroup
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
	factory.Shutdown()
	rootCAFactory.Shutdown()
	return nil
}
