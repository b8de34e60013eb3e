package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
)

func TestCoreCells(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(26 * time.Hour)}
	}
	containers := []corev1.Container{{Name: "app", Image: "nginx:1.29"}, {Name: "log", Image: "busybox"}}
	tests := []struct {
		name string
		tc   rest.TableConvertor
		obj  runtime.Object
		want []interface{}
	}{{
		name: "namespace",
		tc:   Namespaces(),
		obj:  &corev1.Namespace{ObjectMeta: meta("kube-system"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		want: []interface{}{"kube-system", "Active", "26h"},
	}, {
		name: "config map counts data and binary data",
		tc:   ConfigMaps(),
		obj:  &corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": nil}},
		want: []interface{}{"cm", int64(3), "26h"},
	}, {
		name: "empty config map",
		tc:   ConfigMaps(),
		obj:  &corev1.ConfigMap{ObjectMeta: meta("cm")},
		want: []interface{}{"cm", int64(0), "26h"},
	}, {
		name: "secret counts distinct keys",
		tc:   Secrets(),
		obj: &corev1.Secret{ObjectMeta: meta("tls"), Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}, StringData: map[string]string{"tls.key": "x", "ca.crt": "y"}},
		want: []interface{}{"tls", "kubernetes.io/tls", int64(3), "26h"},
	}, {
		name: "service account",
		tc:   ServiceAccounts(),
		obj:  &corev1.ServiceAccount{ObjectMeta: meta("default")},
		want: []interface{}{"default", "26h"},
	}, {
		name: "resource quota splits requests and limits",
		tc:   ResourceQuotas(),
		obj: &corev1.ResourceQuota{ObjectMeta: meta("quota"), Status: corev1.ResourceQuotaStatus{
			Hard: corev1.ResourceList{
				"pods": resource.MustParse("10"), "requests.cpu": resource.MustParse("2"), "limits.memory": resource.MustParse("4Gi"),
				"limits.cpu": resource.MustParse("4"), "limitsx": resource.MustParse("1"),
			},
			Used: corev1.ResourceList{"pods": resource.MustParse("3"), "requests.cpu": resource.MustParse("500m"), "limits.cpu": resource.MustParse("1")},
		}},
		want: []interface{}{"quota", "limitsx: 0/1, pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 1/4, limits.memory: 0/4Gi", "26h"},
	}, {
		name: "resource quota without status",
		tc:   ResourceQuotas(),
		obj:  &corev1.ResourceQuota{ObjectMeta: meta("quota"), Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("1")}}},
		want: []interface{}{"quota", "", "", "26h"},
	}, {
		name: "pod template",
		tc:   PodTemplates(),
		obj: &corev1.PodTemplate{ObjectMeta: meta("tpl"), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"tier": "web", "app": "shop"}},
			Spec:       corev1.PodSpec{Containers: containers},
		}},
		want: []interface{}{"tpl", "app,log", "nginx:1.29,busybox", "app=shop,tier=web"},
	}, {
		name: "empty pod template",
		tc:   PodTemplates(),
		obj:  &corev1.PodTemplate{ObjectMeta: meta("tpl")},
		want: []interface{}{"tpl", "", "", "<none>"},
	}, {
		name: "replication controller",
		tc:   ReplicationControllers(),
		obj: &corev1.ReplicationController{ObjectMeta: meta("rc"),
			Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](3), Selector: map[string]string{"app": "shop"},
				Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}},
			Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1}},
		want: []interface{}{"rc", int64(3), int64(2), int64(1), "26h", "app,log", "nginx:1.29,busybox", "app=shop"},
	}, {
		name: "replication controller without replicas or template",
		tc:   ReplicationControllers(),
		obj:  &corev1.ReplicationController{ObjectMeta: meta("rc")},
		want: []interface{}{"rc", int64(0), int64(0), int64(0), "26h", "", "", "<none>"},
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
