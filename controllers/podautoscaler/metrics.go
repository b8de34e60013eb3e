package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
)

// tolerance is how far the usage ratio may stray from 1 before the HPA
// scales, as upstream's default.
const tolerance = 0.1

// Metrics reads the resource usage of pods.
type Metrics interface {
	// PodUsage returns the usage of resource by each pod of namespace that
	// selector matches (milli-units, bytes for memory), by pod name, and
	// when it was measured.
	PodUsage(ctx context.Context, namespace string, selector labels.Selector, resource corev1.ResourceName) (map[string]int64, time.Time, error)
}

// noMetrics is the resource metrics API when none is served: reading it
// fails as the API server's 404 makes client-go fail.
type noMetrics struct{}

func (noMetrics) PodUsage(context.Context, string, labels.Selector, corev1.ResourceName) (map[string]int64, time.Time, error) {
	return nil, time.Time{}, fmt.Errorf("unable to fetch metrics from resource metrics API: %w",
		newNotFound(schema.GroupResource{Group: "metrics.k8s.io", Resource: "pods"}))
}

// newNotFound is the error client-go returns for a 404 without a Status
// body, as the API server answers for an API group it does not serve.
func newNotFound(gr schema.GroupResource) error {
	return apierrors.NewGenericServerResponse(404, "get", gr, "", "", 0, true)
}

// ResourceMetrics reads pod usage from the resource metrics API
// (metrics.k8s.io/v1beta1, as metrics-server serves it).
type ResourceMetrics struct {
	Client metricsclient.PodMetricsesGetter
}

var _ Metrics = ResourceMetrics{}

// PodUsage sums the containers' usage of each pod.
func (m ResourceMetrics) PodUsage(ctx context.Context, namespace string, selector labels.Selector, res corev1.ResourceName) (map[string]int64, time.Time, error) {
	list, err := m.Client.PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("unable to fetch metrics from resource metrics API: %w", err)
	}
	if len(list.Items) == 0 {
		return nil, time.Time{}, errors.New("no metrics returned from resource metrics API")
	}
	usage := map[string]int64{}
	var at time.Time
	for _, p := range list.Items {
		var sum int64
		found := true
		for _, c := range p.Containers {
			q, ok := c.Usage[res]
			if !ok {
				found = false
				break
			}
			sum += value(res, q)
		}
		if found && len(p.Containers) > 0 {
			usage[p.Name] = sum
			at = p.Timestamp.Time
		}
	}
	return usage, at, nil
}

// value is a quantity in the unit the HPA computes with: bytes for memory,
// milli-units for everything else.
func value(res corev1.ResourceName, q resource.Quantity) int64 {
	if res == corev1.ResourceMemory {
		return q.Value()
	}
	return q.MilliValue()
}

// computeReplicas proposes a replica count from each of the HPA's metrics
// and takes the largest. It returns -1 and an error when no metric could be
// computed (or some could not and the others would scale down), having set
// ScalingActive False with the first failure's reason.
func (c *Controller) computeReplicas(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, specReplicas, statusReplicas int32,
	rawSelector string) (int32, string, []autoscalingv2.MetricStatus, error) {
	if rawSelector == "" {
		msg := "selector is required"
		c.events.Event(hpa, corev1.EventTypeWarning, "SelectorRequired", msg)
		c.setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector")
		return -1, "", nil, errors.New(msg)
	}
	selector, err := labels.Parse(rawSelector)
	if err != nil {
		msg := fmt.Sprintf("couldn't convert selector into a corresponding internal selector object: %v", err)
		c.events.Event(hpa, corev1.EventTypeWarning, "InvalidSelector", msg)
		c.setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "%s", msg)
		return -1, "", nil, errors.New(msg)
	}

	statuses := make([]autoscalingv2.MetricStatus, len(hpa.Spec.Metrics))
	replicas, metric := int32(0), ""
	invalid := 0
	var first *metricError
	for i, spec := range hpa.Spec.Metrics {
		proposal, name, err := c.computeMetric(ctx, hpa, spec, specReplicas, selector, &statuses[i])
		if err != nil {
			if invalid == 0 {
				first = err
			}
			invalid++
			continue
		}
		if replicas == 0 || proposal > replicas {
			replicas, metric = proposal, name
		}
	}
	err = nil
	if first != nil {
		err = fmt.Errorf("invalid metrics (%v invalid out of %v), first error is: %w", invalid, len(hpa.Spec.Metrics), first)
	}
	if invalid >= len(hpa.Spec.Metrics) || (invalid > 0 && replicas < specReplicas) {
		c.setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, first.reason, "the HPA was unable to compute the replica count: %v", first.cause)
		return -1, "", statuses, err
	}
	c.setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from %s", metric)
	return replicas, metric, statuses, err
}

// metricError is why one metric gave no proposal: the condition reason and
// the cause (the event's and condition's message), within the error
// reported for the metric.
type metricError struct {
	reason string
	cause  error
	err    error
}

func (e *metricError) Error() string { return e.err.Error() }
func (e *metricError) Unwrap() error { return e.err }

// computeMetric proposes a replica count from one metric and fills its
// status. On failure it records an event with the reason and cause of the
// error it returns.
func (c *Controller) computeMetric(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec,
	current int32, selector labels.Selector, status *autoscalingv2.MetricStatus) (int32, string, *metricError) {
	fail := func(reason string, cause, err error) (int32, string, *metricError) {
		c.events.Event(hpa, corev1.EventTypeWarning, reason, cause.Error())
		return 0, "", &metricError{reason: reason, cause: cause, err: err}
	}
	switch spec.Type {
	case autoscalingv2.ResourceMetricSourceType:
		r := spec.Resource
		proposal, cur, name, err := c.resourceReplicas(ctx, hpa.Namespace, current, r.Name, "", r.Target, selector)
		if err != nil {
			return fail("FailedGetResourceMetric", err, fmt.Errorf("failed to get %s resource metric value: %w", r.Name, err))
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type, Resource: &autoscalingv2.ResourceMetricStatus{Name: r.Name, Current: cur}}
		return proposal, name, nil
	case autoscalingv2.ContainerResourceMetricSourceType:
		r := spec.ContainerResource
		proposal, cur, name, err := c.resourceReplicas(ctx, hpa.Namespace, current, r.Name, r.Container, r.Target, selector)
		if err != nil {
			return fail("FailedGetContainerResourceMetric", err, fmt.Errorf("failed to get %s container metric value: %w", r.Container, err))
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: r.Name, Container: r.Container, Current: cur}}
		return proposal, name + " container", nil
	case autoscalingv2.PodsMetricSourceType:
		err := fmt.Errorf("unable to get metric %s: %w", spec.Pods.Metric.Name, customMetricsMissing())
		return fail("FailedGetPodsMetric", err, fmt.Errorf("failed to get pods metric value: %w", err))
	case autoscalingv2.ObjectMetricSourceType:
		err := fmt.Errorf("unable to get metric %s: %s on %s %s/%w", spec.Object.Metric.Name, spec.Object.DescribedObject.Kind, hpa.Namespace, spec.Object.DescribedObject.Name, customMetricsMissing())
		return fail("FailedGetObjectMetric", err, fmt.Errorf("failed to get object metric value: %w", err))
	case autoscalingv2.ExternalMetricSourceType:
		err := fmt.Errorf("unable to get external metric %s/%s/%v: %w", hpa.Namespace, spec.External.Metric.Name, spec.External.Metric.Selector,
			newNotFound(schema.GroupResource{Group: "external.metrics.k8s.io", Resource: spec.External.Metric.Name}))
		return fail("FailedGetExternalMetric", err, fmt.Errorf("failed to get %s external metric value: %w", spec.External.Metric.Name, err))
	}
	err := fmt.Errorf("unknown metric source type %q", spec.Type)
	return fail("InvalidMetricSourceType", err, err)
}

func customMetricsMissing() error {
	return fmt.Errorf("unable to fetch metrics from custom metrics API: %w", errors.New("no custom metrics API (custom.metrics.k8s.io) registered"))
}

// resourceReplicas proposes a replica count for a resource metric: the
// pods' average utilization of their requests (or average usage) against
// the target, as upstream's replica calculator does. Pods that are being
// deleted or failed are left out; with cpu, so are pods not yet ready.
// Pods without metrics count as using their whole request when scaling
// down and nothing when scaling up, and unready pods nothing when scaling
// up, so that they never push the proposal further.
func (c *Controller) resourceReplicas(ctx context.Context, ns string, current int32, res corev1.ResourceName, container string,
	target autoscalingv2.MetricTarget, selector labels.Selector) (int32, autoscalingv2.MetricValueStatus, string, error) {
	var none autoscalingv2.MetricValueStatus
	what := "utilization"
	if target.AverageValue != nil {
		what = "usage"
	} else if target.AverageUtilization == nil {
		return 0, none, "", errors.New("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
	}
	wrap := func(err error) error { return fmt.Errorf("failed to get %s %s: %w", res, what, err) }

	usage, _, err := c.metrics.PodUsage(ctx, ns, selector, res)
	if err != nil {
		return 0, none, "", wrap(fmt.Errorf("unable to get metrics for resource %s: %w", res, err))
	}
	pods, err := c.pods.Pods(ns).List(selector)
	if err != nil {
		return 0, none, "", wrap(fmt.Errorf("unable to get pods while calculating replica count: %w", err))
	}
	if len(pods) == 0 {
		return 0, none, "", wrap(errors.New("no pods returned by selector while calculating replica count"))
	}
	requests := map[string]int64{}
	var missing, unready []string
	measured := map[string]int64{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed {
			continue
		}
		req, err := podRequest(p, res, container)
		if err != nil && target.AverageUtilization != nil {
			return 0, none, "", wrap(err)
		}
		requests[p.Name] = req
		u, ok := usage[p.Name]
		switch {
		case !ok:
			missing = append(missing, p.Name)
		case res == corev1.ResourceCPU && !ready(p):
			unready = append(unready, p.Name)
		default:
			measured[p.Name] = u
		}
	}
	if len(measured) == 0 {
		return 0, none, "", wrap(errors.New("did not receive metrics for targeted pods (pods might be unready)"))
	}
	ratio, avgUtil, avgValue := usageRatio(measured, requests, target)
	status := autoscalingv2.MetricValueStatus{AverageValue: quantity(res, avgValue)}
	name := fmt.Sprintf("%s resource", res)
	if target.AverageUtilization != nil {
		status.AverageUtilization = &avgUtil
		name = fmt.Sprintf("%s resource utilization (percentage of request)", res)
	}
	if len(missing)+len(unready) == 0 {
		if math.Abs(1-ratio) <= tolerance {
			return current, status, name, nil
		}
		return int32(math.Ceil(ratio * float64(len(measured)))), status, name, nil
	}
	// Fill in the pods without usable metrics the way that dampens the
	// change, then recompute.
	if ratio < 1 {
		for _, p := range missing {
			measured[p] = fill(requests[p], target)
		}
	} else {
		for _, p := range append(missing, unready...) {
			measured[p] = 0
		}
	}
	newRatio, _, _ := usageRatio(measured, requests, target)
	if math.Abs(1-newRatio) <= tolerance || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current, status, name, nil
	}
	proposal := int32(math.Ceil(newRatio * float64(len(measured))))
	if (newRatio < 1 && proposal > current) || (newRatio > 1 && proposal < current) {
		return current, status, name, nil
	}
	return proposal, status, name, nil
}

// fill is the usage assumed for a pod without metrics when scaling down:
// all of its request, or the target value.
func fill(request int64, target autoscalingv2.MetricTarget) int64 {
	if target.AverageValue != nil {
		return target.AverageValue.MilliValue()
	}
	return request
}

// usageRatio is the measured pods' average utilization of their requests
// (or average usage) divided by the target; also returned are the average
// utilization in percent and the average usage.
func usageRatio(measured, requests map[string]int64, target autoscalingv2.MetricTarget) (float64, int32, int64) {
	var used, requested int64
	for p, u := range measured {
		used += u
		requested += requests[p]
	}
	avg := used / int64(len(measured))
	if target.AverageValue != nil {
		return float64(avg) / float64(target.AverageValue.MilliValue()), 0, avg
	}
	if requested == 0 {
		return 0, 0, avg
	}
	util := int32(used * 100 / requested)
	return float64(util) / float64(*target.AverageUtilization), util, avg
}

// podRequest sums the pod's containers' (or one container's) requests of
// the resource.
func podRequest(p *corev1.Pod, res corev1.ResourceName, container string) (int64, error) {
	var sum int64
	for _, c := range p.Spec.Containers {
		if container != "" && c.Name != container {
			continue
		}
		q, ok := c.Resources.Requests[res]
		if !ok {
			return 0, fmt.Errorf("missing request for %s in container %s of Pod %s", res, c.Name, p.Name)
		}
		sum += value(res, q)
	}
	return sum, nil
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// quantity formats a usage as the metrics server does: bytes for memory,
// milli-units otherwise.
func quantity(res corev1.ResourceName, v int64) *resource.Quantity {
	if res == corev1.ResourceMemory {
		return resource.NewQuantity(v, resource.BinarySI)
	}
	return resource.NewMilliQuantity(v, resource.DecimalSI)
}
