package table

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// nodeLostReason is the pod status reason the node lifecycle controller sets
// on pods of an unreachable node.
const nodeLostReason = "NodeLost"

// Pods returns the table convertor for pods: Name, Ready, Status, Restarts,
// Age, and wide IP, Node, Nominated Node, Readiness Gates.
//
// Ready counts ready containers out of the regular containers plus restartable
// init containers (sidecars). Status is the pod's phase or reason, replaced by
// the state of the container that explains it best: "Init:1/3",
// "Init:CrashLoopBackOff", "CrashLoopBackOff", "Completed", "Terminating",
// "SchedulingGated" and so on. Restarts sums the container restarts and adds
// how long ago the last one ended, as in "4 (2m ago)". Rows of succeeded and
// failed pods carry a Completed row condition.
func Pods() rest.TableConvertor {
	podStatus := corev1.PodStatus{}.SwaggerDoc()
	podSpec := corev1.PodSpec{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
		column("Status", "The aggregate status of the containers in this pod."),
		column("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
		ageColumn(),
		wide(column("IP", podStatus["podIP"])),
		wide(column("Node", podSpec["nodeName"])),
		wide(column("Nominated Node", podStatus["nominatedNodeName"])),
		wide(column("Readiness Gates", podSpec["readinessGates"])),
	}
	return newConvertor(columns, podRow)
}

func podRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return metav1.TableRow{}, unsupported[*corev1.Pod](obj)
	}
	s := summarizePod(pod)
	row := metav1.TableRow{Cells: []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.reason,
		s.restarts.cell(now),
		age(pod.CreationTimestamp, now),
		podIP(pod),
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		readinessGates(pod),
	}}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		row.Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue,
			Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
	case corev1.PodFailed:
		row.Conditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue,
			Reason: string(corev1.PodFailed), Message: "The pod failed."}}
	}
	return row, nil
}

// podSummary is what the Ready, Status and Restarts cells show.
type podSummary struct {
	ready, total int
	reason       string
	restarts     restarts
}

// restarts adds up container restart counts and remembers when the most
// recent of those restarts ended.
type restarts struct {
	count int
	last  time.Time
}

func (r *restarts) add(st *corev1.ContainerStatus) {
	r.count += int(st.RestartCount)
	if t := st.LastTerminationState.Terminated; t != nil && r.last.Before(t.FinishedAt.Time) {
		r.last = t.FinishedAt.Time
	}
}

// cell formats the Restarts cell: "3", or "3 (5m ago)" when the last restart
// time is known.
func (r restarts) cell(now time.Time) string {
	if r.count == 0 || r.last.IsZero() {
		return strconv.Itoa(r.count)
	}
	return fmt.Sprintf("%d (%s ago)", r.count, duration.HumanDuration(now.Sub(r.last)))
}

// summarizePod derives the Ready, Status and Restarts cells the way
// "kubectl get pods" shows them.
func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{total: len(pod.Spec.Containers), reason: string(pod.Status.Phase)}
	if pod.Status.Reason != "" {
		s.reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			s.reason = corev1.PodReasonSchedulingGated
		}
	}

	sidecars := make(map[string]bool, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
			s.total++
		}
	}

	// Walk the init containers in order up to the first one that still holds
	// the pod back; it names the status. Completed init containers and started
	// sidecars do not.
	var all, sidecar restarts
	initializing := false
	for i := range pod.Status.InitContainerStatuses {
		st := &pod.Status.InitContainerStatuses[i]
		all.add(st)
		if sidecars[st.Name] {
			sidecar.add(st)
		}
		term, wait := st.State.Terminated, st.State.Waiting
		if term != nil && term.ExitCode == 0 {
			continue
		}
		if sidecars[st.Name] && st.Started != nil && *st.Started {
			if st.Ready {
				s.ready++
			}
			continue
		}
		initializing = true
		switch {
		case term != nil:
			s.reason = "Init:" + terminatedReason(term)
		case wait != nil && wait.Reason != "" && wait.Reason != "PodInitializing":
			s.reason = "Init:" + wait.Reason
		default:
			s.reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		break
	}
	s.restarts = all

	if !initializing || podInitialized(pod) {
		// Sidecar restarts still count; other init containers' do not.
		s.restarts = sidecar
		hasRunning, errorReason := false, ""
		// The first container with something to report wins, so walk backwards.
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			st := &pod.Status.ContainerStatuses[i]
			s.restarts.add(st)
			switch term, wait := st.State.Terminated, st.State.Waiting; {
			case wait != nil && wait.Reason != "":
				s.reason = wait.Reason
			case term != nil:
				s.reason = terminatedReason(term)
				if term.ExitCode != 0 {
					errorReason = s.reason
				}
			case st.Ready && st.State.Running != nil:
				hasRunning = true
				s.ready++
			}
		}
		// A pod whose first container completed may still be running others.
		if s.reason == "Completed" {
			switch {
			case hasRunning && podReady(pod):
				s.reason = "Running"
			case errorReason != "":
				s.reason = errorReason
			case hasRunning:
				s.reason = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil {
		switch {
		case pod.Status.Reason == nodeLostReason:
			s.reason = "Unknown"
		case pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed:
			s.reason = "Terminating"
		}
	}
	return s
}

// terminatedReason names a terminated container's state: its reason, else
// "Signal:N", else "ExitCode:N".
func terminatedReason(t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("Signal:%d", t.Signal)
	default:
		return fmt.Sprintf("ExitCode:%d", t.ExitCode)
	}
}

// podInitialized reports whether the pod's first Initialized condition is True.
func podInitialized(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodInitialized {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podReady reports whether the pod has a Ready condition that is True.
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// podIP is the pod's primary IP, or "<none>".
func podIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 {
		return orNone(pod.Status.PodIPs[0].IP)
	}
	return orNone(pod.Status.PodIP)
}

// readinessGates formats "true/total" over the pod's readiness gates, judging
// each gate by the first condition of its type, or "<none>" without gates.
func readinessGates(pod *corev1.Pod) string {
	gates := pod.Spec.ReadinessGates
	if len(gates) == 0 {
		return "<none>"
	}
	met := 0
	for _, g := range gates {
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType {
				if c.Status == corev1.ConditionTrue {
					met++
				}
				break
			}
		}
	}
	return fmt.Sprintf("%d/%d", met, len(gates))
}
