package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// newScheme returns a scheme with the core/v1 types and their defaults.
func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		t.Fatalf("add core/v1 types: %v", err)
	}
	if err := AddToScheme(s); err != nil {
		t.Fatalf("add core/v1 defaults: %v", err)
	}
	return s
}

func TestDecodeDefaultsPod(t *testing.T) {
	const podJSON = `{
		"apiVersion": "v1",
		"kind": "Pod",
		"metadata": {"name": "web", "namespace": "default"},
		"spec": {
			"containers": [{
				"name": "nginx",
				"image": "nginx",
				"ports": [{"containerPort": 80}],
				"readinessProbe": {"httpGet": {"port": 80}},
				"resources": {"limits": {"cpu": "250m"}}
			}]
		}
	}`
	decoder := serializer.NewCodecFactory(newScheme(t)).UniversalDecoder(corev1.SchemeGroupVersion)
	obj, gvk, err := decoder.Decode([]byte(podJSON), nil, nil)
	if err != nil {
		t.Fatalf("decode pod: %v", err)
	}
	if gvk.Kind != "Pod" {
		t.Errorf("decoded kind = %q, want Pod", gvk.Kind)
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		t.Fatalf("decoded a %T, want *v1.Pod", obj)
	}

	cpu := corev1.ResourceList{corev1.ResourceCPU: q("250m")}
	want := defaultedPodSpec(corev1.PodSpec{Containers: []corev1.Container{{
		Name:  "nginx",
		Image: "nginx",
		Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80), Path: "/", Scheme: corev1.URISchemeHTTP}},
			TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
		},
		Resources:                corev1.ResourceRequirements{Limits: cpu, Requests: cpu},
		ImagePullPolicy:          corev1.PullAlways,
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}}})
	if diff := cmp.Diff(want, pod.Spec, quantityByValue()); diff != "" {
		t.Errorf("decoded pod spec mismatch (-want +got):\n%s", diff)
	}
	if pod.Name != "web" || pod.Namespace != "default" {
		t.Errorf("decoded pod is %s/%s, want default/web", pod.Namespace, pod.Name)
	}
}

// TestSchemeDefaults checks that AddToScheme registers every object and list
// type: scheme.Default must do what the exported function does, item by item
// for lists.
func TestSchemeDefaults(t *testing.T) {
	pod := func() corev1.Pod {
		return corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("c", "nginx")}}}
	}
	cases := []struct {
		name string
		in   runtime.Object
		want func() runtime.Object
	}{
		{"ConfigMap", &corev1.ConfigMap{}, func() runtime.Object { o := &corev1.ConfigMap{}; ConfigMap(o); return o }},
		{"Endpoints", &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 1}}}}}, func() runtime.Object {
			o := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 1}}}}}
			Endpoints(o)
			return o
		}},
		{"LimitRange", &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}}}, func() runtime.Object {
			o := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}}}
			LimitRange(o)
			return o
		}},
		{"Namespace", &corev1.Namespace{}, func() runtime.Object { o := &corev1.Namespace{}; Namespace(o); return o }},
		{"Node", &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: q("1")}}}, func() runtime.Object {
			o := &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: q("1")}}}
			Node(o)
			return o
		}},
		{"PersistentVolume", &corev1.PersistentVolume{}, func() runtime.Object { o := &corev1.PersistentVolume{}; PersistentVolume(o); return o }},
		{"PersistentVolumeClaim", &corev1.PersistentVolumeClaim{}, func() runtime.Object { o := &corev1.PersistentVolumeClaim{}; PersistentVolumeClaim(o); return o }},
		{"Pod", &corev1.Pod{}, func() runtime.Object { o := &corev1.Pod{}; Pod(o); return o }},
		{"PodTemplate", &corev1.PodTemplate{}, func() runtime.Object { o := &corev1.PodTemplate{}; PodTemplate(o); return o }},
		{"ReplicationController", &corev1.ReplicationController{}, func() runtime.Object { o := &corev1.ReplicationController{}; ReplicationController(o); return o }},
		{"ResourceQuota", &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: q("0.0001")}}}, func() runtime.Object {
			return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: q("1m")}}}
		}},
		{"Secret", &corev1.Secret{}, func() runtime.Object { o := &corev1.Secret{}; Secret(o); return o }},
		{"Service", &corev1.Service{}, func() runtime.Object { o := &corev1.Service{}; Service(o); return o }},

		{"ConfigMapList", &corev1.ConfigMapList{Items: make([]corev1.ConfigMap, 2)}, func() runtime.Object {
			o := &corev1.ConfigMapList{Items: make([]corev1.ConfigMap, 2)}
			eachItem(o.Items, ConfigMap)
			return o
		}},
		{"EndpointsList", &corev1.EndpointsList{Items: []corev1.Endpoints{{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 1}}}}}}}, func() runtime.Object {
			o := &corev1.EndpointsList{Items: []corev1.Endpoints{{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 1}}}}}}}
			eachItem(o.Items, Endpoints)
			return o
		}},
		{"LimitRangeList", &corev1.LimitRangeList{Items: []corev1.LimitRange{{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}}}}}, func() runtime.Object {
			o := &corev1.LimitRangeList{Items: []corev1.LimitRange{{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}}}}}
			eachItem(o.Items, LimitRange)
			return o
		}},
		{"NamespaceList", &corev1.NamespaceList{Items: make([]corev1.Namespace, 2)}, func() runtime.Object {
			o := &corev1.NamespaceList{Items: make([]corev1.Namespace, 2)}
			eachItem(o.Items, Namespace)
			return o
		}},
		{"NodeList", &corev1.NodeList{Items: []corev1.Node{{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: q("1")}}}}}, func() runtime.Object {
			o := &corev1.NodeList{Items: []corev1.Node{{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: q("1")}}}}}
			eachItem(o.Items, Node)
			return o
		}},
		{"PersistentVolumeList", &corev1.PersistentVolumeList{Items: make([]corev1.PersistentVolume, 2)}, func() runtime.Object {
			o := &corev1.PersistentVolumeList{Items: make([]corev1.PersistentVolume, 2)}
			eachItem(o.Items, PersistentVolume)
			return o
		}},
		{"PersistentVolumeClaimList", &corev1.PersistentVolumeClaimList{Items: make([]corev1.PersistentVolumeClaim, 2)}, func() runtime.Object {
			o := &corev1.PersistentVolumeClaimList{Items: make([]corev1.PersistentVolumeClaim, 2)}
			eachItem(o.Items, PersistentVolumeClaim)
			return o
		}},
		{"PodList", &corev1.PodList{Items: []corev1.Pod{pod(), pod()}}, func() runtime.Object {
			o := &corev1.PodList{Items: []corev1.Pod{pod(), pod()}}
			eachItem(o.Items, Pod)
			return o
		}},
		{"PodTemplateList", &corev1.PodTemplateList{Items: make([]corev1.PodTemplate, 2)}, func() runtime.Object {
			o := &corev1.PodTemplateList{Items: make([]corev1.PodTemplate, 2)}
			eachItem(o.Items, PodTemplate)
			return o
		}},
		{"ReplicationControllerList", &corev1.ReplicationControllerList{Items: make([]corev1.ReplicationController, 2)}, func() runtime.Object {
			o := &corev1.ReplicationControllerList{Items: make([]corev1.ReplicationController, 2)}
			eachItem(o.Items, ReplicationController)
			return o
		}},
		{"ResourceQuotaList", &corev1.ResourceQuotaList{Items: []corev1.ResourceQuota{{Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: q("0.0001")}}}}}, func() runtime.Object {
			return &corev1.ResourceQuotaList{Items: []corev1.ResourceQuota{{Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: q("1m")}}}}}
		}},
		{"SecretList", &corev1.SecretList{Items: make([]corev1.Secret, 2)}, func() runtime.Object {
			o := &corev1.SecretList{Items: make([]corev1.Secret, 2)}
			eachItem(o.Items, Secret)
			return o
		}},
		{"ServiceList", &corev1.ServiceList{Items: make([]corev1.Service, 2)}, func() runtime.Object {
			o := &corev1.ServiceList{Items: make([]corev1.Service, 2)}
			eachItem(o.Items, Service)
			return o
		}},
	}

	s := newScheme(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.in.DeepCopyObject()
			s.Default(tc.in)
			if diff := cmp.Diff(before, tc.in, quantityByValue()); diff == "" {
				t.Fatalf("scheme.Default left the %s unchanged; is it registered?", tc.name)
			}
			if diff := cmp.Diff(tc.want(), tc.in, quantityByValue()); diff != "" {
				t.Errorf("scheme.Default mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
