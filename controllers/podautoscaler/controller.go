// Package podautoscaler runs HorizontalPodAutoscalers (autoscaling/v2), as
// upstream's HPA controller does.
//
// Every SyncPeriod each HPA reads the scale subresource of its target
// (deployments, replicasets, statefulsets, replication controllers, or any
// resource with a scale subresource), sets its AbleToScale condition, and
// proposes a replica count: the target's count clamped to [minReplicas,
// maxReplicas], or from resource metrics (cpu, memory: average utilization
// of the pods' requests, or average value) read from the resource metrics
// API (metrics.k8s.io). When that API is not served, ScalingActive is False
// with reason FailedGetResourceMetric and upstream's message, and the events
// FailedGetResourceMetric and FailedComputeMetricsReplicas are recorded.
// Pods, object and external metrics need the custom and external metrics
// APIs, which kubelite does not serve: they fail the same way. A proposal
// that differs from the current count is written to the scale subresource
// (SuccessfulRescale).
package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	autoscalinginformers "k8s.io/client-go/informers/autoscaling/v2"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// DefaultSyncPeriod is how often each HPA is reconciled, as upstream.
const DefaultSyncPeriod = 15 * time.Second

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid horizontal pod autoscaler controller config")

// Config holds what the controller needs. Fields without a documented zero
// value are required.
type Config struct {
	// Client writes HPA status.
	Client kubernetes.Interface
	// HPAs and Pods are the shared informers.
	HPAs autoscalinginformers.HorizontalPodAutoscalerInformer
	Pods coreinformers.PodInformer
	// Scales reads and writes the targets' scale subresources; Mapper
	// resolves their kinds to resources.
	Scales scale.ScalesGetter
	Mapper meta.RESTMapper
	// Metrics reads pod resource usage. Zero value: no metrics API, every
	// resource metric fails.
	Metrics Metrics
	// Events records rescales and failures. Zero value: none are recorded.
	Events record.EventRecorder
	// SyncPeriod is how often each HPA is reconciled. Zero:
	// DefaultSyncPeriod.
	SyncPeriod time.Duration
	// DownscaleStabilization is how long the highest recent recommendation
	// holds off a scale down. Zero: 5 minutes.
	DownscaleStabilization time.Duration
	// Clock times conditions and recommendations. Zero value: the real
	// clock.
	Clock clock.PassiveClock
}

// Validate reports whether the config can build a controller. It has no
// side effects.
func (c Config) Validate() error {
	var errs []error
	if c.Client == nil || c.HPAs == nil || c.Pods == nil || c.Scales == nil || c.Mapper == nil {
		errs = append(errs, fmt.Errorf("%w: Client, HPAs, Pods, Scales and Mapper are required", ErrInvalidConfig))
	}
	if c.SyncPeriod < 0 || c.DownscaleStabilization < 0 {
		errs = append(errs, fmt.Errorf("%w: periods must not be negative", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

// Controller reconciles HPAs. Build it with New and start it with Run.
type Controller struct {
	client  kubernetes.Interface
	hpas    autoscalinglisters.HorizontalPodAutoscalerLister
	pods    corelisters.PodLister
	scales  scale.ScalesGetter
	mapper  meta.RESTMapper
	metrics Metrics
	events  record.EventRecorder
	clock   clock.PassiveClock
	period  time.Duration
	recs    *recommendations
	loop    *loop.Loop
}

// New validates cfg and returns a controller whose event handlers are
// registered. Nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Controller{
		client: cfg.Client, hpas: cfg.HPAs.Lister(), pods: cfg.Pods.Lister(), scales: cfg.Scales, mapper: cfg.Mapper,
		metrics: cfg.Metrics, events: cfg.Events, clock: cfg.Clock, period: cfg.SyncPeriod,
	}
	if c.metrics == nil {
		c.metrics = noMetrics{}
	}
	if c.events == nil {
		c.events = &record.FakeRecorder{}
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.period == 0 {
		c.period = DefaultSyncPeriod
	}
	window := cfg.DownscaleStabilization
	if window == 0 {
		window = 5 * time.Minute
	}
	c.recs = newRecommendations(c.clock, window)
	c.loop = loop.New("horizontal-pod-autoscaler", c.sync)
	// As upstream, every HPA waits one period in the queue, new ones and
	// changed ones too (a request for an HPA already waiting is dropped):
	// HPAs are reconciled once a period. Status writes, including the
	// controller's own, queue nothing.
	reg, err := cfg.HPAs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*autoscalingv2.HorizontalPodAutoscaler)
			n, ok2 := cur.(*autoscalingv2.HorizontalPodAutoscaler)
			if !ok1 || !ok2 || o.Generation != n.Generation {
				c.enqueue(cur)
			}
		},
		DeleteFunc: c.enqueue,
	})
	if err != nil {
		return nil, fmt.Errorf("horizontal-pod-autoscaler: add event handler: %w", err)
	}
	c.loop.WaitFor(cfg.HPAs.Informer().HasSynced, reg.HasSynced, cfg.Pods.Informer().HasSynced)
	return c, nil
}

func (c *Controller) enqueue(obj any) {
	for _, k := range loop.OwnKey(obj) {
		c.loop.AddAfter(k, c.period)
	}
}

// Run reconciles HPAs with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// sync reconciles the HPA key names and queues it again after SyncPeriod:
// metrics change without any event.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	hpa, err := c.hpas.HorizontalPodAutoscalers(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.recs.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	err = c.reconcile(ctx, key, hpa.DeepCopy())
	c.loop.AddAfter(key, c.period)
	if err != nil {
		// Retrying sooner than the next period cannot help: the target or
		// the metrics are missing.
		return loop.Terminal(err)
	}
	return nil
}

// reconcile brings one HPA's target and status up to date.
func (c *Controller) reconcile(ctx context.Context, key string, hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	old := hpa.Status.DeepCopy()
	ref := hpa.Spec.ScaleTargetRef
	reference := fmt.Sprintf("%s/%s/%s", ref.Kind, hpa.Namespace, ref.Name)

	s, gr, err := c.getScale(ctx, hpa)
	if err != nil {
		c.events.Event(hpa, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		c.setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", "the HPA controller was unable to get the target's current scale: %v", err)
		return errors.Join(fmt.Errorf("get scale of %s: %w", reference, err), c.updateStatus(ctx, old, hpa))
	}
	c.setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale")
	current := s.Spec.Replicas
	c.recs.init(key, current)
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}

	var (
		desired  int32
		reason   string
		statuses []autoscalingv2.MetricStatus
		retErr   error
	)
	rescale := true
	switch {
	case current == 0 && minReplicas != 0:
		rescale = false
		c.setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
	case current > hpa.Spec.MaxReplicas:
		desired, reason = hpa.Spec.MaxReplicas, "Current number of replicas above Spec.MaxReplicas"
	case current < minReplicas:
		desired, reason = minReplicas, "Current number of replicas below Spec.MinReplicas"
	default:
		proposed, metric, sts, err := c.computeReplicas(ctx, hpa, s.Spec.Replicas, s.Status.Replicas, s.Status.Selector)
		statuses = sts
		if err != nil && proposed == -1 {
			setStatus(hpa, current, hpa.Status.DesiredReplicas, statuses, nil)
			uerr := c.updateStatus(ctx, old, hpa)
			c.events.Event(hpa, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error())
			return errors.Join(fmt.Errorf("compute replicas of %s: %w", reference, err), uerr)
		}
		retErr = err
		desired = max(proposed, 0)
		switch {
		case desired > current:
			reason = metric + " above target"
		case desired < current:
			reason = "All metrics below target"
		}
		desired = c.normalize(key, hpa, current, desired, minReplicas)
		rescale = desired != current
	}

	var scaled *metav1.Time
	if rescale {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			s.Spec.Replicas = desired
			_, err := c.scales.Scales(hpa.Namespace).Update(ctx, gr, s, metav1.UpdateOptions{})
			if apierrors.IsConflict(err) {
				if fresh, gerr := c.scales.Scales(hpa.Namespace).Get(ctx, gr, ref.Name, metav1.GetOptions{}); gerr == nil {
					s = fresh
				}
			}
			return err
		})
		if err != nil {
			c.events.Eventf(hpa, corev1.EventTypeWarning, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, reason, err)
			c.setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale", "the HPA controller was unable to update the target scale: %v", err)
			setStatus(hpa, current, hpa.Status.DesiredReplicas, statuses, nil)
			return errors.Join(fmt.Errorf("rescale %s: %w", reference, err), c.updateStatus(ctx, old, hpa))
		}
		c.setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale", "the HPA controller was able to update the target scale to %d", desired)
		c.events.Eventf(hpa, corev1.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
		now := metav1.NewTime(c.clock.Now())
		scaled = &now
	} else {
		desired = current
	}
	setStatus(hpa, current, desired, statuses, scaled)
	return errors.Join(retErr, c.updateStatus(ctx, old, hpa))
}

// getScale reads the scale subresource of the HPA's target, trying each
// resource its kind maps to.
func (c *Controller) getScale(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv1.Scale, schema.GroupResource, error) {
	ref := hpa.Spec.ScaleTargetRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, schema.GroupResource{}, err
	}
	mappings, err := c.mapper.RESTMappings(schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
	if err != nil {
		if r, ok := c.mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
			mappings, err = c.mapper.RESTMappings(schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
		}
		if err != nil {
			return nil, schema.GroupResource{}, err
		}
	}
	var first error
	for _, m := range mappings {
		gr := m.Resource.GroupResource()
		s, err := c.scales.Scales(hpa.Namespace).Get(ctx, gr, ref.Name, metav1.GetOptions{})
		if err == nil {
			return s, gr, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = errors.New("unrecognized resource")
	}
	return nil, schema.GroupResource{}, first
}

// setStatus rewrites the HPA's status around its conditions.
func setStatus(hpa *autoscalingv2.HorizontalPodAutoscaler, current, desired int32, metrics []autoscalingv2.MetricStatus, scaled *metav1.Time) {
	last := hpa.Status.LastScaleTime
	if scaled != nil {
		last = scaled
	}
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: current,
		DesiredReplicas: desired,
		LastScaleTime:   last,
		CurrentMetrics:  metrics,
		Conditions:      hpa.Status.Conditions,
	}
}

// updateStatus writes the HPA's status if it differs from old.
func (c *Controller) updateStatus(ctx context.Context, old *autoscalingv2.HorizontalPodAutoscalerStatus, hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	if apiequality.Semantic.DeepEqual(old, &hpa.Status) {
		return nil
	}
	_, err := c.client.AutoscalingV2().HorizontalPodAutoscalers(hpa.Namespace).UpdateStatus(ctx, hpa, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		c.events.Event(hpa, corev1.EventTypeWarning, "FailedUpdateStatus", err.Error())
		return fmt.Errorf("update status of hpa %s/%s: %w", hpa.Namespace, hpa.Name, err)
	}
	return nil
}

// setCondition sets a condition of the HPA, keeping its transition time if
// the status is unchanged.
func (c *Controller) setCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType,
	status corev1.ConditionStatus, reason, format string, args ...any) {
	cond := autoscalingv2.HorizontalPodAutoscalerCondition{
		Type: t, Status: status, Reason: reason, Message: fmt.Sprintf(format, args...),
		LastTransitionTime: metav1.NewTime(c.clock.Now()),
	}
	for i, existing := range hpa.Status.Conditions {
		if existing.Type == t {
			if existing.Status == status {
				cond.LastTransitionTime = existing.LastTransitionTime
			}
			hpa.Status.Conditions[i] = cond
			return
		}
	}
	hpa.Status.Conditions = append(hpa.Status.Conditions, cond)
}
