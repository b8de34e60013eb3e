package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/scheduler"
)

// Upstream kube-scheduler's leader election: one Lease, kube-system/
// kube-scheduler, held for 15 s, renewed within 10 s, retried every 2 s.
const (
	schedulerLease         = "kube-scheduler"
	schedulerLeaseDuration = 15 * time.Second
	schedulerRenewDeadline = 10 * time.Second
	schedulerRetryPeriod   = 2 * time.Second
)

// runScheduler runs the scheduler against the API server that cfg
// reaches, until ctx ends, while it holds the scheduler's Lease: of
// several servers on one etcd, one schedules. Losing the Lease stops that
// scheduler, and the election starts again. identity names this server in
// the Lease; it stays the same across restarts on the same data dir, so
// that a restarted server takes its Lease back at once rather than
// waiting for it to expire (the Lease is also released on a clean stop,
// when the API server still answers).
func runScheduler(ctx context.Context, cfg *rest.Config, identity string) error {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "kubelite-scheduler"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("scheduler client: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: schedulerLease},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	logger := klog.FromContext(ctx)
	for ctx.Err() == nil {
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   schedulerLeaseDuration,
			RenewDeadline:   schedulerRenewDeadline,
			RetryPeriod:     schedulerRetryPeriod,
			ReleaseOnCancel: true,
			Name:            schedulerLease,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					if err := schedule(ctx, client); err != nil {
						logger.Error(err, "Scheduler stopped")
					}
				},
				OnStoppedLeading: func() { logger.Info("Scheduler lease lost or released") },
			},
		})
		if err != nil {
			return fmt.Errorf("scheduler leader election: %w", err)
		}
		elector.Run(ctx)
	}
	return nil
}

// schedule runs one scheduler, with informers of its own, until ctx ends.
// Its pod informer leaves out finished pods, as upstream's does.
func schedule(ctx context.Context, client kubernetes.Interface) error {
	factory := informers.NewSharedInformerFactory(client, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = "status.phase!=Succeeded,status.phase!=Failed"
		}))
	s, err := scheduler.New(scheduler.Config{
		Client:                 client,
		Pods:                   podFactory.Core().V1().Pods(),
		Nodes:                  factory.Core().V1().Nodes(),
		Namespaces:             factory.Core().V1().Namespaces(),
		Services:               factory.Core().V1().Services(),
		ReplicationControllers: factory.Core().V1().ReplicationControllers(),
		ReplicaSets:            factory.Apps().V1().ReplicaSets(),
		StatefulSets:           factory.Apps().V1().StatefulSets(),
		PersistentVolumeClaims: factory.Core().V1().PersistentVolumeClaims(),
		PersistentVolumes:      factory.Core().V1().PersistentVolumes(),
		StorageClasses:         factory.Storage().V1().StorageClasses(),
		PodDisruptionBudgets:   factory.Policy().V1().PodDisruptionBudgets(),
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	podFactory.Start(ctx.Done())
	defer podFactory.Shutdown()
	defer factory.Shutdown()
	return s.Run(ctx)
}

// schedulerIdentity is this server's name in the scheduler's Lease: the
// host name and a hash of the data dir, the same across restarts.
func schedulerIdentity(dataDir string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(dataDir))
	return fmt.Sprintf("%s_%x", host, sum[:6])
}
