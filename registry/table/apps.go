package table

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

// Descriptions of the container columns the workload tables share.
const (
	containersDoc = "Names of each container in the template."
	imagesDoc     = "Images referenced by each container in the template."
)

// Deployments returns the table convertor for deployments: Name, Ready,
// Up-to-date, Available, Age, and wide Containers, Images, Selector.
//
// Ready reads "ready/desired". Selector is the label selector in selector
// syntax, empty for an empty or missing selector and "<invalid>" for one that
// does not parse.
func Deployments() rest.TableConvertor {
	status := appsv1.DeploymentStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Ready", "Number of the pod with ready state"),
		column("Up-to-date", status["updatedReplicas"]),
		column("Available", status["availableReplicas"]),
		ageColumn(),
		wide(column("Containers", containersDoc)),
		wide(column("Images", imagesDoc)),
		wide(column("Selector", appsv1.DeploymentSpec{}.SwaggerDoc()["selector"])),
	}
	return newConvertor(columns, cells(deploymentCells))
}

func deploymentCells(d *appsv1.Deployment, now time.Time) []interface{} {
	selector := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = s.String()
	}
	names, images := containerCells(d.Spec.Template.Spec.Containers)
	return []interface{}{
		d.Name,
		fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, ptr.Deref(d.Spec.Replicas, 0)),
		int64(d.Status.UpdatedReplicas),
		int64(d.Status.AvailableReplicas),
		age(d.CreationTimestamp, now),
		names,
		images,
		selector,
	}
}

// ReplicaSets returns the table convertor for replica sets: Name, Desired,
// Current, Ready, Age, and wide Containers, Images, Selector ("<none>" when
// the selector is empty).
func ReplicaSets() rest.TableConvertor {
	spec := appsv1.ReplicaSetSpec{}.SwaggerDoc()
	status := appsv1.ReplicaSetStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("Desired", spec["replicas"]), "integer"),
		typed(column("Current", status["replicas"]), "integer"),
		typed(column("Ready", status["readyReplicas"]), "integer"),
		ageColumn(),
		wide(column("Containers", containersDoc)),
		wide(column("Images", imagesDoc)),
		wide(column("Selector", spec["selector"])),
	}
	return newConvertor(columns, cells(func(rs *appsv1.ReplicaSet, now time.Time) []interface{} {
		names, images := containerCells(rs.Spec.Template.Spec.Containers)
		return []interface{}{
			rs.Name,
			int64(ptr.Deref(rs.Spec.Replicas, 0)),
			int64(rs.Status.Replicas),
			int64(rs.Status.ReadyReplicas),
			age(rs.CreationTimestamp, now),
			names,
			images,
			metav1.FormatLabelSelector(rs.Spec.Selector),
		}
	}))
}

// StatefulSets returns the table convertor for stateful sets: Name, Ready
// ("ready/desired"), Age, and wide Containers, Images. Unlike the other
// workloads it has no Selector column.
func StatefulSets() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Ready", "Number of the pod with ready state"),
		ageColumn(),
		wide(column("Containers", containersDoc)),
		wide(column("Images", imagesDoc)),
	}
	return newConvertor(columns, cells(func(ss *appsv1.StatefulSet, now time.Time) []interface{} {
		names, images := containerCells(ss.Spec.Template.Spec.Containers)
		return []interface{}{
			ss.Name,
			fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, ptr.Deref(ss.Spec.Replicas, 0)),
			age(ss.CreationTimestamp, now),
			names,
			images,
		}
	}))
}

// DaemonSets returns the table convertor for daemon sets: Name, Desired,
// Current, Ready, Up-to-date, Available, Node Selector, Age, and wide
// Containers, Images, Selector.
//
// The counts come from the status. Node Selector is the pod template's node
// selector as "k=v,..." or "<none>".
func DaemonSets() rest.TableConvertor {
	status := appsv1.DaemonSetStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		typed(column("Desired", status["desiredNumberScheduled"]), "integer"),
		typed(column("Current", status["currentNumberScheduled"]), "integer"),
		typed(column("Ready", status["numberReady"]), "integer"),
		typed(column("Up-to-date", status["updatedNumberScheduled"]), "integer"),
		typed(column("Available", status["numberAvailable"]), "integer"),
		column("Node Selector", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
		ageColumn(),
		wide(column("Containers", containersDoc)),
		wide(column("Images", imagesDoc)),
		wide(column("Selector", appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"])),
	}
	return newConvertor(columns, cells(func(ds *appsv1.DaemonSet, now time.Time) []interface{} {
		names, images := containerCells(ds.Spec.Template.Spec.Containers)
		return []interface{}{
			ds.Name,
			int64(ds.Status.DesiredNumberScheduled),
			int64(ds.Status.CurrentNumberScheduled),
			int64(ds.Status.NumberReady),
			int64(ds.Status.UpdatedNumberScheduled),
			int64(ds.Status.NumberAvailable),
			labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
			age(ds.CreationTimestamp, now),
			names,
			images,
			metav1.FormatLabelSelector(ds.Spec.Selector),
		}
	}))
}

// ControllerRevisions returns the table convertor for controller revisions:
// Name, Controller, Revision, Age.
//
// Controller names the owner that is the revision's controller as
// "kind.group/name" in lower case ("statefulset.apps/web"), or "<none>".
// An owner reference with a malformed apiVersion fails the conversion.
func ControllerRevisions() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Controller", "Controller of the object"),
		column("Revision", appsv1.ControllerRevision{}.SwaggerDoc()["revision"]),
		ageColumn(),
	}
	return newConvertor(columns, controllerRevisionRow)
}

func controllerRevisionRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	cr, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		return metav1.TableRow{}, unsupported[*appsv1.ControllerRevision](obj)
	}
	controller := "<none>"
	if ref := metav1.GetControllerOf(cr); ref != nil {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return metav1.TableRow{}, fmt.Errorf("parse controller of controller revision %s: %w", cr.Name, err)
		}
		controller = ref.Name
		if gk := gv.WithKind(ref.Kind).GroupKind(); !gk.Empty() {
			controller = strings.ToLower(gk.String()) + "/" + ref.Name
		}
	}
	return metav1.TableRow{Cells: []interface{}{cr.Name, controller, cr.Revision, age(cr.CreationTimestamp, now)}}, nil
}
