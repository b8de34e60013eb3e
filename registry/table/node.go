package table

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

const (
	// nodeRoleLabelPrefix marks a role by the label key's suffix:
	// node-role.kubernetes.io/control-plane="".
	nodeRoleLabelPrefix = "node-role.kubernetes.io/"
	// nodeRoleLabel names a role by its value: kubernetes.io/role=master.
	nodeRoleLabel = "kubernetes.io/role"
)

// Nodes returns the table convertor for nodes: Name, Status, Roles, Age,
// Version, and wide Internal-IP, External-IP, OS-Image, Kernel-Version,
// Container-Runtime.
//
// Status is "Ready", "NotReady" or "Unknown" (no Ready condition), followed by
// ",SchedulingDisabled" for a cordoned node. Roles lists, sorted and comma
// separated, the suffixes of node-role.kubernetes.io/* label keys and the
// value of a kubernetes.io/role label, or "<none>".
func Nodes() rest.TableConvertor {
	info := corev1.NodeSystemInfo{}.SwaggerDoc()
	addresses := corev1.NodeStatus{}.SwaggerDoc()["addresses"]
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Status", "The status of the node"),
		column("Roles", "The roles of the node"),
		ageColumn(),
		column("Version", info["kubeletVersion"]),
		wide(column("Internal-IP", addresses)),
		wide(column("External-IP", addresses)),
		wide(column("OS-Image", info["osImage"])),
		wide(column("Kernel-Version", info["kernelVersion"])),
		wide(column("Container-Runtime", info["containerRuntimeVersion"])),
	}
	return newConvertor(columns, cells(nodeCells))
}

func nodeCells(node *corev1.Node, now time.Time) []interface{} {
	info := node.Status.NodeInfo
	kernel := unknownIfEmpty(info.KernelVersion)
	if info.Architecture != "" {
		kernel += " (" + info.Architecture + ")"
	}
	roles := strings.Join(nodeRoles(node), ",")
	return []interface{}{
		node.Name,
		nodeStatus(node),
		orNone(roles),
		age(node.CreationTimestamp, now),
		info.KubeletVersion,
		nodeAddress(node, corev1.NodeInternalIP),
		nodeAddress(node, corev1.NodeExternalIP),
		unknownIfEmpty(info.OSImage),
		kernel,
		unknownIfEmpty(info.ContainerRuntimeVersion),
	}
}

// nodeStatus is the Status cell. When the Ready condition appears more than
// once, the last one counts.
func nodeStatus(node *corev1.Node) string {
	status := "Unknown"
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			status = string(corev1.NodeReady)
		} else {
			status = "Not" + string(corev1.NodeReady)
		}
	}
	if node.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles returns the node's roles, sorted and without duplicates.
func nodeRoles(node *corev1.Node) []string {
	var roles []string
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, nodeRoleLabelPrefix):
			if role := strings.TrimPrefix(k, nodeRoleLabelPrefix); role != "" {
				roles = append(roles, role)
			}
		case k == nodeRoleLabel && v != "":
			roles = append(roles, v)
		}
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}

// nodeAddress is the node's first address of type t, or "<none>".
func nodeAddress(node *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range node.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

// unknownIfEmpty returns s, or "<unknown>" if s is empty.
func unknownIfEmpty(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
