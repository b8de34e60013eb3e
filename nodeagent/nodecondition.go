package nodeagent

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// pressure says which resources a node is short of: the inputs of the
// MemoryPressure, DiskPressure and PIDPressure conditions.
type pressure struct {
	Memory, Disk, PID bool
}

// pressureCondition describes one pressure condition: its reasons and
// messages with and without pressure, as upstream's kubelet reports them.
type pressureCondition struct {
	typ                   corev1.NodeConditionType
	reasonOn, messageOn   string
	reasonOff, messageOff string
	under                 func(pressure) bool
}

var pressureConditions = [...]pressureCondition{
	{corev1.NodeMemoryPressure,
		"KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
		"KubeletHasSufficientMemory", "kubelet has sufficient memory available",
		func(p pressure) bool { return p.Memory }},
	{corev1.NodeDiskPressure,
		"KubeletHasDiskPressure", "kubelet has disk pressure",
		"KubeletHasNoDiskPressure", "kubelet has no disk pressure",
		func(p pressure) bool { return p.Disk }},
	{corev1.NodePIDPressure,
		"KubeletHasInsufficientPID", "kubelet has insufficient PID available",
		"KubeletHasSufficientPID", "kubelet has sufficient PID available",
		func(p pressure) bool { return p.PID }},
}

// requiredCapacity are the resources a node must report to be Ready (upstream
// requires ephemeral-storage too, as local storage capacity isolation is on).
var requiredCapacity = [...]corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods, corev1.ResourceEphemeralStorage}

// setConditions sets the node's MemoryPressure, DiskPressure, PIDPressure and
// Ready conditions at now, leaving other conditions alone. As upstream, a
// condition's lastHeartbeatTime is now; its lastTransitionTime changes only
// when its status does; a missing Ready condition is appended last.
// notReady lists why the node is not ready; nil entries are ignored.
func setConditions(node *corev1.Node, now time.Time, p pressure, notReady []error) {
	t := metav1.NewTime(now)
	for _, pc := range pressureConditions {
		c := findCondition(node, pc.typ)
		if c == nil {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{Type: pc.typ, Status: corev1.ConditionUnknown})
			c = &node.Status.Conditions[len(node.Status.Conditions)-1]
		}
		c.LastHeartbeatTime = t
		want, reason, message := corev1.ConditionFalse, pc.reasonOff, pc.messageOff
		if pc.under(p) {
			want, reason, message = corev1.ConditionTrue, pc.reasonOn, pc.messageOn
		}
		if c.Status != want {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = want, reason, message, t
		}
	}

	var missing []string
	for _, r := range requiredCapacity {
		if _, ok := node.Status.Capacity[r]; !ok {
			missing = append(missing, string(r))
		}
	}
	if len(missing) > 0 {
		notReady = append(notReady, fmt.Errorf("missing node capacity for resources: %s", strings.Join(missing, ", ")))
	}
	ready := corev1.NodeCondition{
		Type:              corev1.NodeReady,
		Status:            corev1.ConditionTrue,
		Reason:            "KubeletReady",
		Message:           "kubelet is posting ready status",
		LastHeartbeatTime: t,
	}
	if err := utilerrors.NewAggregate(notReady); err != nil {
		ready.Status, ready.Reason, ready.Message = corev1.ConditionFalse, "KubeletNotReady", err.Error()
	}
	c := findCondition(node, corev1.NodeReady)
	if c == nil {
		ready.LastTransitionTime = t
		node.Status.Conditions = append(node.Status.Conditions, ready)
		return
	}
	ready.LastTransitionTime = t
	if c.Status == ready.Status {
		ready.LastTransitionTime = c.LastTransitionTime
	}
	*c = ready
}

func findCondition(node *corev1.Node, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == typ {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// statusChanged says whether status differs from old in anything but the
// conditions' heartbeat times.
func statusChanged(old, status *corev1.NodeStatus) bool {
	if len(old.Conditions) != len(status.Conditions) {
		return true
	}
	for i := range status.Conditions {
		a, b := old.Conditions[i], status.Conditions[i]
		a.LastHeartbeatTime, b.LastHeartbeatTime = metav1.Time{}, metav1.Time{}
		if !equality.Semantic.DeepEqual(a, b) {
			return true
		}
	}
	o, s := *old, *status
	o.Conditions, s.Conditions = nil, nil
	return !equality.Semantic.DeepEqual(o, s)
}

// readyChecks runs checks and returns their errors; nil checks are skipped.
func readyChecks(ctx context.Context, checks []func(context.Context) error) []error {
	var errs []error
	for _, check := range checks {
		if check == nil {
			continue
		}
		if err := check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// conditionEvents records, as upstream's kubelet does, an event for each of
// the agent's conditions whose status a write changed from old to status
// (old nil: the Node was just created): "Node <name> status is now:
// NodeHasSufficientMemory", NodeReady, NodeNotReady, ...
func (s *nodeStatus) conditionEvents(old, status *corev1.NodeStatus) {
	if s.cfg.Event == nil {
		return
	}
	was := func(typ corev1.NodeConditionType) corev1.ConditionStatus {
		if old != nil {
			for _, c := range old.Conditions {
				if c.Type == typ {
					return c.Status
				}
			}
		}
		return ""
	}
	for _, c := range status.Conditions {
		if c.Status == was(c.Type) {
			continue
		}
		var reason string
		switch c.Type {
		case corev1.NodeReady:
			reason = map[corev1.ConditionStatus]string{corev1.ConditionTrue: "NodeReady", corev1.ConditionFalse: "NodeNotReady"}[c.Status]
		default:
			for _, pc := range pressureConditions {
				if pc.typ == c.Type {
					// The event names the condition's reason with Node for
					// Kubelet: KubeletHasSufficientMemory, NodeHasSufficientMemory.
					reason = map[corev1.ConditionStatus]string{corev1.ConditionTrue: pc.reasonOn, corev1.ConditionFalse: pc.reasonOff}[c.Status]
					if reason != "" {
						reason = "Node" + strings.TrimPrefix(reason, "Kubelet")
					}
				}
			}
		}
		if reason != "" {
			s.cfg.Event(corev1.EventTypeNormal, reason, fmt.Sprintf("Node %s status is now: %s", s.cfg.Node.Name, reason))
		}
	}
}
