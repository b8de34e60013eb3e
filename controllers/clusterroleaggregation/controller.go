package clusterroleaggregation

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubelite/kubelite/controllers/internal/loop"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	rbacinformers "k8s.io/client-go/informers/rbac/v1"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
)

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid cluster role aggregation controller config")

// Config holds what the controller needs. Every field is required.
type Config struct {
	// Client writes the aggregated rules of cluster roles.
	Client kubernetes.Interface
	// Informer is the shared cluster role informer. The caller starts it;
	// Run waits for its cache to sync.
	Informer rbacinformers.ClusterRoleInformer
}

// Validate reports whether the config can build a controller. It has no side
// effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, fmt.Errorf("%w: Client is required", ErrInvalidConfig))
	}
	if c.Informer == nil {
		errs = append(errs, fmt.Errorf("%w: Informer is required", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller keeps the rules of aggregated cluster roles equal to the union
// of the rules of the roles they select. Build it with New and start it with
// Run.
type Controller struct {
	client kubernetes.Interface
	lister rbaclisters.ClusterRoleLister
	loop   *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered on cfg.Informer. Nothing runs until Run is called.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client: cfg.Client,
		lister: cfg.Informer.Lister(),
	}
	c.loop = loop.New("clusterrole-aggregation-controller", c.sync)
	informer := cfg.Informer.Informer()
	reg, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueAffected,
		UpdateFunc: func(old, cur any) {
			c.enqueueAffected(old)
			c.enqueueAffected(cur)
		},
		DeleteFunc: func(obj any) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			c.enqueueAffected(obj)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("add cluster role event handler: %w", err)
	}
	c.loop.WaitFor(informer.HasSynced, reg.HasSynced)
	return c, nil
}

// enqueueAffected queues the aggregated roles whose rules may depend on the
// given role: the role itself if it is aggregated, and every aggregated role
// with a selector matching its labels.
func (c *Controller) enqueueAffected(obj any) {
	changed, ok := obj.(*rbacv1.ClusterRole)
	if !ok {
		return
	}
	if changed.AggregationRule != nil {
		c.loop.Add(changed.Name)
	}
	aggregators, err := c.lister.List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("list cluster roles from cache: %w", err))
		return
	}
	set := labels.Set(changed.Labels)
	for _, a := range aggregators {
		if a.AggregationRule == nil || a.Name == changed.Name {
			continue
		}
		for i := range a.AggregationRule.ClusterRoleSelectors {
			// An invalid selector matches nothing here; sync reports it.
			sel, err := metav1.LabelSelectorAsSelector(&a.AggregationRule.ClusterRoleSelectors[i])
			if err == nil && sel.Matches(set) {
				c.loop.Add(a.Name)
				break
			}
		}
	}
}

// Run waits for the cluster role cache to sync, then processes aggregated
// roles with the given number of workers until ctx ends. It returns nil
// after a clean shutdown, once every worker has stopped. Run may be called
// only once.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }
