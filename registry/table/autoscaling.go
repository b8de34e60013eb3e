package table

import (
	"fmt"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// maxHPAMetrics is how many metrics the Targets cell lists before it
// summarizes the rest as "+ N more...".
const maxHPAMetrics = 2

// HorizontalPodAutoscalers returns the table convertor for
// autoscaling/v2 horizontal pod autoscalers: Name, Reference, Targets,
// MinPods, MaxPods, Replicas, Age.
//
// Reference reads "Kind/name". Targets lists "current/target" for the first
// two metrics, then "+ N more...", or "<none>" without metrics: resource
// metrics as "cpu: 50%/80%" (utilization) or "memory: 100Mi/200Mi" (average
// value), object and external metrics with an average value target as
// "current/target (avg)". A current value missing from the status is
// "<unknown>", a resource utilization target without a value "<auto>".
// MinPods is "<unset>" without minReplicas.
func HorizontalPodAutoscalers() rest.TableConvertor {
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Reference", spec["scaleTargetRef"]),
		column("Targets", spec["metrics"]),
		column("MinPods", spec["minReplicas"]),
		column("MaxPods", spec["maxReplicas"]),
		column("Replicas", autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(hpa *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
		minPods := "<unset>"
		if m := hpa.Spec.MinReplicas; m != nil {
			minPods = fmt.Sprint(*m)
		}
		ref := hpa.Spec.ScaleTargetRef
		return []interface{}{
			hpa.Name,
			ref.Kind + "/" + ref.Name,
			hpaTargets(hpa.Spec.Metrics, hpa.Status.CurrentMetrics),
			minPods,
			int64(hpa.Spec.MaxReplicas),
			int64(hpa.Status.CurrentReplicas),
			age(hpa.CreationTimestamp, now),
		}
	}))
}

// hpaTargets is the Targets cell. The i-th status is taken to belong to the
// i-th metric.
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	list := make([]string, 0, maxHPAMetrics)
	for i := range specs {
		if len(list) == maxHPAMetrics {
			break
		}
		var status *autoscalingv2.MetricStatus
		if i < len(statuses) {
			status = &statuses[i]
		}
		list = append(list, hpaTarget(&specs[i], status))
	}
	cell := strings.Join(list, ", ")
	if len(specs) > maxHPAMetrics {
		cell += fmt.Sprintf(" + %d more...", len(specs)-maxHPAMetrics)
	}
	return cell
}

// hpaTarget formats one metric; status is nil when the status has no entry
// for it. A metric whose source is missing counts as of unknown type.
func hpaTarget(spec *autoscalingv2.MetricSpec, status *autoscalingv2.MetricStatus) string {
	switch {
	case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
		var cur *autoscalingv2.MetricValueStatus
		if status != nil && status.External != nil {
			cur = &status.External.Current
		}
		return valueTarget(spec.External.Target, cur)
	case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
		var cur *autoscalingv2.MetricValueStatus
		if status != nil && status.Object != nil {
			cur = &status.Object.Current
		}
		return valueTarget(spec.Object.Target, cur)
	case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
		current := "<unknown>"
		if status != nil && status.Pods != nil {
			current = status.Pods.Current.AverageValue.String()
		}
		return current + "/" + spec.Pods.Target.AverageValue.String()
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		var cur *autoscalingv2.MetricValueStatus
		if status != nil && status.Resource != nil {
			cur = &status.Resource.Current
		}
		return string(spec.Resource.Name) + ": " + resourceTarget(spec.Resource.Target, cur)
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		var cur *autoscalingv2.MetricValueStatus
		if status != nil && status.ContainerResource != nil {
			cur = &status.ContainerResource.Current
		}
		return string(spec.ContainerResource.Name) + ": " + resourceTarget(spec.ContainerResource.Target, cur)
	}
	return "<unknown type>"
}

// valueTarget formats an object or external metric: "current/target (avg)"
// for an average value target, else "current/target" over plain values.
// cur is nil when the status does not report the metric.
func valueTarget(target autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if target.AverageValue != nil {
		if cur != nil && cur.AverageValue != nil {
			current = cur.AverageValue.String()
		}
		return current + "/" + target.AverageValue.String() + " (avg)"
	}
	if cur != nil {
		current = cur.Value.String()
	}
	return current + "/" + target.Value.String()
}

// resourceTarget formats a resource or container resource metric without its
// name: "current/target" over average values when the target has one, else
// over utilization percentages.
func resourceTarget(target autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if target.AverageValue != nil {
		if cur != nil {
			current = cur.AverageValue.String()
		}
		return current + "/" + target.AverageValue.String()
	}
	if cur != nil && cur.AverageUtilization != nil {
		current = fmt.Sprintf("%d%%", *cur.AverageUtilization)
	}
	goal := "<auto>"
	if target.AverageUtilization != nil {
		goal = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return current + "/" + goal
}
