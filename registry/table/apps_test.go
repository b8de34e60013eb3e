package table

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

func TestAppsColumns(t *testing.T) {
	testColumns(t, []columnCase{
		{"deployments", Deployments(), []col{str("Name"), str("Ready"), str("Up-to-date"), str("Available"), str("Age"), wideStr("Containers"), wideStr("Images"), wideStr("Selector")}},
		{"replicasets", ReplicaSets(), []col{str("Name"), integer("Desired"), integer("Current"), integer("Ready"), str("Age"), wideStr("Containers"), wideStr("Images"), wideStr("Selector")}},
		{"statefulsets", StatefulSets(), []col{str("Name"), str("Ready"), str("Age"), wideStr("Containers"), wideStr("Images")}},
		{"daemonsets", DaemonSets(), []col{str("Name"), integer("Desired"), integer("Current"), integer("Ready"), integer("Up-to-date"), integer("Available"), str("Node Selector"), str("Age"), wideStr("Containers"), wideStr("Images"), wideStr("Selector")}},
		{"controllerrevisions", ControllerRevisions(), []col{str("Name"), str("Controller"), str("Revision"), str("Age")}},
	})
}

// podTemplate is a pod template with two containers.
func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "app", Image: "nginx:1.29"}, {Name: "log", Image: "busybox"},
	}}}
}

func TestAppsCells(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: ago(3 * time.Hour)}
	selector := &metav1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}},
	}
	badSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{{
		name: "deployment ready out of desired",
		tc:   Deployments(),
		obj: &appsv1.Deployment{ObjectMeta: meta,
			Spec:   appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: selector, Template: podTemplate()},
			Status: appsv1.DeploymentStatus{Replicas: 4, ReadyReplicas: 2, UpdatedReplicas: 1, AvailableReplicas: 3}},
		want: []interface{}{"web", "2/3", int64(1), int64(3), "3h", "app,log", "nginx:1.29,busybox", "app=web,tier in (a,b)"},
	}, {
		name: "deployment without replicas or selector",
		tc:   Deployments(),
		obj:  &appsv1.Deployment{ObjectMeta: meta},
		want: []interface{}{"web", "0/0", int64(0), int64(0), "3h", "", "", ""},
	}, {
		name: "deployment with empty selector",
		tc:   Deployments(),
		obj:  &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{}}},
		want: []interface{}{"web", "0/1", int64(0), int64(0), "3h", "", "", ""},
	}, {
		name: "deployment with invalid selector",
		tc:   Deployments(),
		obj:  &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: badSelector}},
		want: []interface{}{"web", "0/1", int64(0), int64(0), "3h", "", "", "<invalid>"},
	}, {
		name: "replica set",
		tc:   ReplicaSets(),
		obj: &appsv1.ReplicaSet{ObjectMeta: meta,
			Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](5), Selector: selector, Template: podTemplate()},
			Status: appsv1.ReplicaSetStatus{Replicas: 4, ReadyReplicas: 3}},
		want: []interface{}{"web", int64(5), int64(4), int64(3), "3h", "app,log", "nginx:1.29,busybox", "app=web,tier in (a,b)"},
	}, {
		name: "replica set without selector",
		tc:   ReplicaSets(),
		obj:  &appsv1.ReplicaSet{ObjectMeta: meta},
		want: []interface{}{"web", int64(0), int64(0), int64(0), "3h", "", "", "<none>"},
	}, {
		name: "replica set with invalid selector",
		tc:   ReplicaSets(),
		obj:  &appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Selector: badSelector}},
		want: []interface{}{"web", int64(0), int64(0), int64(0), "3h", "", "", "<error>"},
	}, {
		name: "stateful set",
		tc:   StatefulSets(),
		obj: &appsv1.StatefulSet{ObjectMeta: meta,
			Spec:   appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Selector: selector, Template: podTemplate()},
			Status: appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 1}},
		want: []interface{}{"web", "1/3", "3h", "app,log", "nginx:1.29,busybox"},
	}, {
		name: "daemon set",
		tc:   DaemonSets(),
		obj: &appsv1.DaemonSet{ObjectMeta: meta,
			Spec: appsv1.DaemonSetSpec{Selector: selector, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				NodeSelector: map[string]string{"kubernetes.io/os": "linux", "disk": "ssd"},
				Containers:   []corev1.Container{{Name: "agent", Image: "agent:v1"}},
			}}},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 5, CurrentNumberScheduled: 4, NumberReady: 3, UpdatedNumberScheduled: 2, NumberAvailable: 1}},
		want: []interface{}{"web", int64(5), int64(4), int64(3), int64(2), int64(1), "disk=ssd,kubernetes.io/os=linux", "3h", "agent", "agent:v1", "app=web,tier in (a,b)"},
	}, {
		name: "daemon set without node selector",
		tc:   DaemonSets(),
		obj:  &appsv1.DaemonSet{ObjectMeta: meta},
		want: []interface{}{"web", int64(0), int64(0), int64(0), int64(0), int64(0), "<none>", "3h", "", "", "<none>"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := rowOf(t, tt.tc, tt.obj)
			if diff := cmp.Diff(tt.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestControllerRevisionCells(t *testing.T) {
	owner := func(apiVersion, kind string, controller bool) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "web", Controller: ptr.To(controller)}}
	}
	tests := []struct {
		name   string
		owners []metav1.OwnerReference
		want   string
	}{
		{"stateful set", owner("apps/v1", "StatefulSet", true), "statefulset.apps/web"},
		{"core group", owner("v1", "Pod", true), "pod/web"},
		{"no kind and group", owner("v1", "", true), "web"},
		{"owner that is not the controller", owner("apps/v1", "DaemonSet", false), "<none>"},
		{"no owners", nil, "<none>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &appsv1.ControllerRevision{
				ObjectMeta: metav1.ObjectMeta{Name: "web-6d4f", CreationTimestamp: ago(90 * time.Second), OwnerReferences: tt.owners},
				Revision:   7,
			}
			row := rowOf(t, ControllerRevisions(), cr)
			if diff := cmp.Diff([]interface{}{"web-6d4f", tt.want, int64(7), "90s"}, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("malformed apiVersion", func(t *testing.T) {
		cr := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "x", OwnerReferences: owner("a/b/c", "StatefulSet", true)}}
		_, err := convert(t, ControllerRevisions(), cr, nil)
		if err == nil || errors.Is(err, ErrUnsupportedObject) {
			t.Errorf("error = %v, want a parse error", err)
		}
	})
}
