package table

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Namespaces returns the table convertor for namespaces: Name, Status (the
// phase), Age.
func Namespaces() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Status", "The status of the namespace"),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(ns *corev1.Namespace, now time.Time) []interface{} {
		return []interface{}{ns.Name, string(ns.Status.Phase), age(ns.CreationTimestamp, now)}
	}))
}

// ConfigMaps returns the table convertor for config maps: Name, Data (the
// number of data and binaryData keys), Age.
func ConfigMaps() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Data", corev1.ConfigMap{}.SwaggerDoc()["data"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(cm *corev1.ConfigMap, now time.Time) []interface{} {
		return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), age(cm.CreationTimestamp, now)}
	}))
}

// Secrets returns the table convertor for secrets: Name, Type, Data (the
// number of keys), Age.
func Secrets() rest.TableConvertor {
	secret := corev1.Secret{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Type", secret["type"]),
		column("Data", secret["data"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(s *corev1.Secret, now time.Time) []interface{} {
		return []interface{}{s.Name, string(s.Type), int64(secretKeys(s)), age(s.CreationTimestamp, now)}
	}))
}

// secretKeys counts the distinct keys of data and the write-only stringData,
// which upstream merges into data before anything reads it.
func secretKeys(s *corev1.Secret) int {
	n := len(s.Data)
	for k := range s.StringData {
		if _, ok := s.Data[k]; !ok {
			n++
		}
	}
	return n
}

// ServiceAccounts returns the table convertor for service accounts: Name, Age.
func ServiceAccounts() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{nameColumn(), ageColumn()}
	return newConvertor(columns, cells(func(sa *corev1.ServiceAccount, now time.Time) []interface{} {
		return []interface{}{sa.Name, age(sa.CreationTimestamp, now)}
	}))
}

// LimitRanges returns the table convertor for limit ranges. Upstream has no
// printer for them, so this is Default: Name, Created At.
func LimitRanges() rest.TableConvertor {
	return Default()
}

// ResourceQuotas returns the table convertor for resource quotas: Name,
// Request, Limit, Age.
//
// Request and Limit list "resource: used/hard" for every hard limit in the
// status, sorted by resource name; resources named "limits.*" go to Limit,
// all others to Request.
func ResourceQuotas() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
		column("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
		ageColumn(),
	}
	return newConvertor(columns, cells(resourceQuotaCells))
}

func resourceQuotaCells(q *corev1.ResourceQuota, now time.Time) []interface{} {
	names := make([]corev1.ResourceName, 0, len(q.Status.Hard))
	for name := range q.Status.Hard {
		names = append(names, name)
	}
	slices.Sort(names)

	var requests, limits []string
	for _, name := range names {
		used, hard := q.Status.Used[name], q.Status.Hard[name]
		usage := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
		if prefix, _, ok := strings.Cut(string(name), "."); ok && prefix == "limits" {
			limits = append(limits, usage)
		} else {
			requests = append(requests, usage)
		}
	}
	return []interface{}{q.Name, strings.Join(requests, ", "), strings.Join(limits, ", "), age(q.CreationTimestamp, now)}
}

// PodTemplates returns the table convertor for pod templates: Name,
// Containers, Images, Pod Labels. Like upstream it has no Age column.
func PodTemplates() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Containers", "Names of each container in the template."),
		column("Images", "Images referenced by each container in the template."),
		column("Pod Labels", "The labels for the pod template."),
	}
	return newConvertor(columns, cells(func(pt *corev1.PodTemplate, _ time.Time) []interface{} {
		names, images := containerCells(pt.Template.Spec.Containers)
		return []interface{}{pt.Name, names, images, labels.FormatLabels(pt.Template.Labels)}
	}))
}

// ReplicationControllers returns the table convertor for replication
// controllers: Name, Desired, Current, Ready, Age, and wide Containers, Images,
// Selector.
func ReplicationControllers() rest.TableConvertor {
	spec := corev1.ReplicationControllerSpec{}.SwaggerDoc()
	status := corev1.ReplicationControllerStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("Desired", spec["replicas"]), "integer"),
		typed(column("Current", status["replicas"]), "integer"),
		typed(column("Ready", status["readyReplicas"]), "integer"),
		ageColumn(),
		wide(column("Containers", "Names of each container in the template.")),
		wide(column("Images", "Images referenced by each container in the template.")),
		wide(column("Selector", spec["selector"])),
	}
	return newConvertor(columns, cells(replicationControllerCells))
}

func replicationControllerCells(rc *corev1.ReplicationController, now time.Time) []interface{} {
	var desired int64
	if rc.Spec.Replicas != nil {
		desired = int64(*rc.Spec.Replicas)
	}
	var containers []corev1.Container
	if rc.Spec.Template != nil {
		containers = rc.Spec.Template.Spec.Containers
	}
	names, images := containerCells(containers)
	return []interface{}{
		rc.Name,
		desired,
		int64(rc.Status.Replicas),
		int64(rc.Status.ReadyReplicas),
		age(rc.CreationTimestamp, now),
		names,
		images,
		labels.FormatLabels(rc.Spec.Selector),
	}
}

// containerCells returns the containers' names and images, each comma
// separated.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	i := make([]string, len(containers))
	for k, c := range containers {
		n[k], i[k] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}
