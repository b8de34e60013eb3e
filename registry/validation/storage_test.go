package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validPV() *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1", ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: qty("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
			VolumeMode:                    ptr(corev1.PersistentVolumeFilesystem),
		},
	}
}

func TestPersistentVolume(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(pv *corev1.PersistentVolume)
		want   []string
	}{
		{name: "valid", mutate: func(*corev1.PersistentVolume) {}},
		{name: "namespaced", mutate: func(pv *corev1.PersistentVolume) { pv.Namespace = "x" }, want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "no access modes or capacity", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = nil
			pv.Spec.Capacity = nil
		}, want: []string{"FieldValueRequired spec.accessModes", "FieldValueRequired spec.capacity", "FieldValueNotSupported spec.capacity"}},
		{name: "RWOP alone", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}
		}, want: []string{"FieldValueForbidden spec.accessModes"}},
		{name: "two sources", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.NFS = &corev1.NFSVolumeSource{Server: "nfs", Path: "/export"}
		}, want: []string{"FieldValueForbidden spec.nfs"}},
		{name: "no source", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.HostPath = nil }, want: []string{"FieldValueRequired spec"}},
		{name: "local needs node affinity", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = nil
			pv.Spec.Local = &corev1.LocalVolumeSource{Path: "/mnt/disk"}
		}, want: []string{"FieldValueRequired spec.nodeAffinity"}},
		{name: "reclaim policy", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = "Shred" },
			want: []string{"FieldValueNotSupported spec.persistentVolumeReclaimPolicy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pv := validPV()
			tc.mutate(pv)
			checkErrs(t, PersistentVolume(pv), tc.want)
		})
	}

	old := validPV()
	pv := old.DeepCopy()
	pv.Spec.HostPath.Path = "/other"
	pv.Spec.VolumeMode = ptr(corev1.PersistentVolumeBlock)
	checkErrs(t, PersistentVolumeUpdate(pv, old), []string{"FieldValueForbidden spec.persistentvolumesource", "FieldValueInvalid volumeMode"})
	pv = old.DeepCopy()
	pv.Status.Phase = corev1.VolumeBound
	checkErrs(t, PersistentVolumeStatusUpdate(pv, old), nil)
}

func validPVC() *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}},
			VolumeMode:  ptr(corev1.PersistentVolumeFilesystem),
		},
	}
}

func TestPersistentVolumeClaim(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(pvc *corev1.PersistentVolumeClaim)
		want   []string
	}{
		{name: "valid", mutate: func(*corev1.PersistentVolumeClaim) {}},
		{name: "storage request required", mutate: func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.Resources.Requests = nil },
			want: []string{"FieldValueRequired spec.resources[storage]"}},
		{name: "storage must be positive", mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = qty("0")
		}, want: []string{"FieldValueInvalid spec.resources[storage]"}},
		{name: "access mode", mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadSometimes"}
		}, want: []string{"FieldValueNotSupported spec.accessModes"}},
		{name: "data source", mutate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Snapshot"}
		}, want: []string{"FieldValueRequired spec.dataSource.name", "FieldValueInvalid spec.dataSource"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pvc := validPVC()
			tc.mutate(pvc)
			checkErrs(t, PersistentVolumeClaim(pvc), tc.want)
		})
	}

	old := validPVC()
	pvc := old.DeepCopy()
	pvc.Spec.VolumeName = "pv-1" // may be set once
	checkErrs(t, PersistentVolumeClaimUpdate(pvc, old), nil)
	pvc = old.DeepCopy()
	pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	checkErrs(t, PersistentVolumeClaimUpdate(pvc, old), []string{"FieldValueForbidden spec"})
	classless := old.DeepCopy()
	classless.Spec.StorageClassName = nil
	pvc = classless.DeepCopy()
	pvc.Spec.StorageClassName = ptr("local-path") // a missing class may be set once
	checkErrs(t, PersistentVolumeClaimUpdate(pvc, classless), nil)
	changed := pvc.DeepCopy()
	changed.Spec.StorageClassName = ptr("other")
	checkErrs(t, PersistentVolumeClaimUpdate(changed, pvc), []string{"FieldValueForbidden spec"})
	bound := old.DeepCopy()
	bound.Status.Phase = corev1.ClaimBound
	grown := bound.DeepCopy()
	grown.Spec.Resources.Requests[corev1.ResourceStorage] = qty("2Gi")
	checkErrs(t, PersistentVolumeClaimUpdate(grown, bound), nil)
	st := old.DeepCopy()
	st.ResourceVersion = ""
	checkErrs(t, PersistentVolumeClaimStatusUpdate(st, old), []string{"FieldValueInvalid metadata.resourceVersion", "FieldValueRequired resourceVersion"})
}

func TestEphemeralVolume(t *testing.T) {
	p := validPod()
	p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
		VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: "not-allowed"},
			Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
		},
	}}}}
	checkErrs(t, Pod(p), []string{
		"FieldValueForbidden spec.volumes[0].ephemeral.volumeClaimTemplate.metadata",
		"FieldValueRequired spec.volumes[0].ephemeral.volumeClaimTemplate.spec.resources[storage]",
	})
}
