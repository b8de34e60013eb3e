package app

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/controllers/scheduler"
)

// runScheduler runs the scheduler against the API server that cfg
// reaches, until ctx ends. Its pod informer leaves out finished pods, as
// upstream's does.
func runScheduler(ctx context.Context, cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "kubelite-scheduler"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("scheduler client: %w", err)
	}
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
