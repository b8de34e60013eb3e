package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNamespace(t *testing.T) {
	runCases(t, Namespace, []defaultCase[corev1.Namespace]{{
		name: "named namespace gets name label and Active phase",
		in:   corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"kubernetes.io/metadata.name": "spoofed", "x": "y"}}},
		want: corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"kubernetes.io/metadata.name": "team-a", "x": "y"}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		},
	}, {
		name: "generateName only gets no label",
		in:   corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tmp-"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
		want: corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tmp-"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	}})
}

func TestNode(t *testing.T) {
	runCases(t, Node, []defaultCase[corev1.Node]{{
		name: "allocatable copied from capacity",
		in:   corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: q("4"), corev1.ResourceMemory: q("8Gi")}}},
		want: corev1.Node{Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: q("4"), corev1.ResourceMemory: q("8Gi")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: q("4"), corev1.ResourceMemory: q("8Gi")},
		}},
	}, {
		name: "allocatable kept and rounded",
		in: corev1.Node{Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: q("4")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: q("3.9999")},
		}},
		want: corev1.Node{Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: q("4")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: q("4")},
		}},
	}, {
		name: "no capacity, no allocatable",
		in:   corev1.Node{},
		want: corev1.Node{},
	}})
}

func TestSecretAndConfigMap(t *testing.T) {
	runCases(t, Secret, []defaultCase[corev1.Secret]{
		{name: "type Opaque", in: corev1.Secret{}, want: corev1.Secret{Type: corev1.SecretTypeOpaque}},
		{name: "type kept", in: corev1.Secret{Type: corev1.SecretTypeTLS}, want: corev1.Secret{Type: corev1.SecretTypeTLS}},
		{name: "stringData merged over data and dropped",
			in:   corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}, StringData: map[string]string{"b": "two", "c": "three"}},
			want: corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1"), "b": []byte("two"), "c": []byte("three")}}},
	})
	runCases(t, ConfigMap, []defaultCase[corev1.ConfigMap]{
		{name: "nil data becomes empty", in: corev1.ConfigMap{}, want: corev1.ConfigMap{Data: map[string]string{}}},
		{name: "data kept", in: corev1.ConfigMap{Data: map[string]string{"a": "b"}}, want: corev1.ConfigMap{Data: map[string]string{"a": "b"}}},
	})
}

func TestLimitRange(t *testing.T) {
	cpu := func(s string) corev1.ResourceList { return corev1.ResourceList{corev1.ResourceCPU: q(s)} }
	runCases(t, LimitRange, []defaultCase[corev1.LimitRange]{{
		name: "container default from max, defaultRequest from default",
		in:   corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Max: cpu("2"), Min: cpu("100m")}}}},
		want: corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Max: cpu("2"), Min: cpu("100m"), Default: cpu("2"), DefaultRequest: cpu("2"),
		}}}},
	}, {
		name: "container defaultRequest from min when no default",
		in: corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Min: corev1.ResourceList{corev1.ResourceMemory: q("64Mi")}, Default: cpu("500m"),
		}}}},
		want: corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Min: corev1.ResourceList{corev1.ResourceMemory: q("64Mi")}, Default: cpu("500m"),
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("64Mi")},
		}}}},
	}, {
		name: "container with nothing gets empty default maps",
		in:   corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}}},
		want: corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{}, DefaultRequest: corev1.ResourceList{},
		}}}},
	}, {
		name: "pod items get no defaults, only rounding",
		in:   corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Max: cpu("1.0001")}}}},
		want: corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Max: cpu("1001m")}}}},
	}})
}

func TestResourceQuota(t *testing.T) {
	runCases(t, ResourceQuota, []defaultCase[corev1.ResourceQuota]{{
		name: "quantities rounded",
		in: corev1.ResourceQuota{
			Spec:   corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceLimitsCPU: q("0.0005")}},
			Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{corev1.ResourceLimitsCPU: q("0.0005")}, Used: corev1.ResourceList{corev1.ResourceLimitsCPU: q("0.0001")}},
		},
		want: corev1.ResourceQuota{
			Spec:   corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceLimitsCPU: q("1m")}},
			Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{corev1.ResourceLimitsCPU: q("1m")}, Used: corev1.ResourceList{corev1.ResourceLimitsCPU: q("1m")}},
		},
	}})
}

func TestPersistentVolume(t *testing.T) {
	runCases(t, PersistentVolume, []defaultCase[corev1.PersistentVolume]{{
		name: "phase, reclaim policy, volume mode, hostPath type",
		in: corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: q("10Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
		}},
		want: corev1.PersistentVolume{
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: q("10Gi")},
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data", Type: new(corev1.HostPathUnset)}},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				VolumeMode:                    new(corev1.PersistentVolumeFilesystem),
			},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumePending},
		},
	}, {
		name: "set values kept, legacy sources defaulted",
		in: corev1.PersistentVolume{
			Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				VolumeMode:                    new(corev1.PersistentVolumeBlock),
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					RBD:       &corev1.RBDPersistentVolumeSource{RBDImage: "i"},
					ISCSI:     &corev1.ISCSIPersistentVolumeSource{IQN: "q"},
					AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", FSType: new("xfs")},
					ScaleIO:   &corev1.ScaleIOPersistentVolumeSource{System: "s"},
				},
			},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
		},
		want: corev1.PersistentVolume{
			Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				VolumeMode:                    new(corev1.PersistentVolumeBlock),
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					RBD:   &corev1.RBDPersistentVolumeSource{RBDImage: "i", RBDPool: "rbd", RadosUser: "admin", Keyring: "/etc/ceph/keyring"},
					ISCSI: &corev1.ISCSIPersistentVolumeSource{IQN: "q", ISCSIInterface: "default"},
					AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", FSType: new("xfs"),
						CachingMode: new(corev1.AzureDataDiskCachingReadWrite), ReadOnly: new(false), Kind: new(corev1.AzureSharedBlobDisk)},
					ScaleIO: &corev1.ScaleIOPersistentVolumeSource{System: "s", StorageMode: "ThinProvisioned", FSType: "xfs"},
				},
			},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
		},
	}})
}

func TestPersistentVolumeClaim(t *testing.T) {
	runCases(t, PersistentVolumeClaim, []defaultCase[corev1.PersistentVolumeClaim]{{
		name: "phase Pending, volumeMode Filesystem, rounding",
		in: corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("0.5")}},
		}},
		want: corev1.PersistentVolumeClaim{
			Spec: corev1.PersistentVolumeClaimSpec{
				VolumeMode: new(corev1.PersistentVolumeFilesystem),
				Resources:  corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("500m")}},
			},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
		},
	}, {
		name: "block mode and bound phase kept",
		in: corev1.PersistentVolumeClaim{
			Spec:   corev1.PersistentVolumeClaimSpec{VolumeMode: new(corev1.PersistentVolumeBlock)},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: q("0.0001")}},
		},
		want: corev1.PersistentVolumeClaim{
			Spec:   corev1.PersistentVolumeClaimSpec{VolumeMode: new(corev1.PersistentVolumeBlock)},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: q("1m")}},
		},
	}})
}

func TestReplicationController(t *testing.T) {
	labels := func() map[string]string { return map[string]string{"app": "web"} }
	template := func() *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels()},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{container("web", "nginx")}},
		}
	}
	defaultedTemplate := func() *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels()},
			Spec:       defaultedSpec(corev1.PodSpec{Containers: []corev1.Container{defaulted(container("web", "nginx"), corev1.PullAlways)}}),
		}
	}
	runCases(t, ReplicationController, []defaultCase[corev1.ReplicationController]{{
		name: "replicas, selector and labels from template",
		in:   corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: template()}},
		want: corev1.ReplicationController{
			ObjectMeta: metav1.ObjectMeta{Labels: labels()},
			Spec:       corev1.ReplicationControllerSpec{Replicas: new(int32(1)), Selector: labels(), Template: defaultedTemplate()},
		},
	}, {
		name: "set selector, labels and replicas kept",
		in: corev1.ReplicationController{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"owner": "me"}},
			Spec:       corev1.ReplicationControllerSpec{Replicas: new(int32(0)), Selector: map[string]string{"tier": "x"}, Template: template()},
		},
		want: corev1.ReplicationController{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"owner": "me"}},
			Spec:       corev1.ReplicationControllerSpec{Replicas: new(int32(0)), Selector: map[string]string{"tier": "x"}, Template: defaultedTemplate()},
		},
	}, {
		name: "no template",
		in:   corev1.ReplicationController{},
		want: corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Replicas: new(int32(1))}},
	}})
}
