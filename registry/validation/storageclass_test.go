package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validStorageClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "fast", ResourceVersion: "1"},
		Provisioner:       "ebs.csi.aws.com",
		Parameters:        map[string]string{"type": "gp3"},
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
			{Key: "topology.kubernetes.io/zone", Values: []string{"us-east-1a", "us-east-1b"}},
		}}},
	}
}

func TestStorageClass(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(sc *storagev1.StorageClass)
		want   []string
	}{
		{name: "valid", mutate: func(*storagev1.StorageClass) {}},
		{name: "upper case provisioner", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "Example.com/NFS" }},
		{name: "namespace forbidden", mutate: func(sc *storagev1.StorageClass) { sc.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "provisioner required", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "" },
			want: []string{"FieldValueRequired provisioner"}},
		{name: "provisioner qualified", mutate: func(sc *storagev1.StorageClass) { sc.Provisioner = "a/b/c" },
			want: []string{"FieldValueInvalid provisioner"}},
		{name: "empty parameter key", mutate: func(sc *storagev1.StorageClass) { sc.Parameters[""] = "x" },
			want: []string{"FieldValueInvalid parameters"}},
		{name: "parameters too big", mutate: func(sc *storagev1.StorageClass) { sc.Parameters["blob"] = strings.Repeat("x", 256<<10) },
			want: []string{"FieldValueTooLong parameters"}},
		{name: "reclaim policy", mutate: func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRecycle) },
			want: []string{"FieldValueNotSupported reclaimPolicy"}},
		{name: "binding mode", mutate: func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = nil },
			want: []string{"FieldValueRequired volumeBindingMode"}},
		{name: "unknown binding mode", mutate: func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = ptr(storagev1.VolumeBindingMode("Later")) },
			want: []string{"FieldValueNotSupported volumeBindingMode"}},
		{name: "topology requirements", mutate: func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies[0].MatchLabelExpressions = append(sc.AllowedTopologies[0].MatchLabelExpressions,
				corev1.TopologySelectorLabelRequirement{Key: "topology.kubernetes.io/zone", Values: []string{"a", "a"}},
				corev1.TopologySelectorLabelRequirement{Key: "bad key"})
		}, want: []string{
			"FieldValueDuplicate allowedTopologies[0].matchLabelExpressions[1].values[1]",
			"FieldValueDuplicate allowedTopologies[0].matchLabelExpressions[1].key",
			"FieldValueRequired allowedTopologies[0].matchLabelExpressions[2].values",
			"FieldValueInvalid allowedTopologies[0].matchLabelExpressions[2].key",
		}},
		{name: "duplicate term", mutate: func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = append(sc.AllowedTopologies, corev1.TopologySelectorTerm{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
				{Key: "topology.kubernetes.io/zone", Values: []string{"us-east-1b", "us-east-1a"}},
			}})
		}, want: []string{"FieldValueDuplicate allowedTopologies[1].matchLabelExpressions"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := validStorageClass()
			tc.mutate(sc)
			checkErrs(t, StorageClass(sc), tc.want)
		})
	}
}

func TestStorageClassUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(sc *storagev1.StorageClass)
		want   []string
	}{
		{name: "mutable fields", mutate: func(sc *storagev1.StorageClass) {
			sc.AllowVolumeExpansion = ptr(true)
			sc.MountOptions = []string{"noatime"}
			sc.AllowedTopologies = nil
		}},
		{name: "immutable fields", mutate: func(sc *storagev1.StorageClass) {
			sc.Parameters = nil
			sc.Provisioner = "example.com/nfs"
			sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRetain)
			sc.VolumeBindingMode = ptr(storagev1.VolumeBindingImmediate)
		}, want: []string{"FieldValueInvalid parameters", "FieldValueInvalid provisioner", "FieldValueInvalid reclaimPolicy", "FieldValueInvalid volumeBindingMode"}},
		{name: "new object revalidated", mutate: func(sc *storagev1.StorageClass) { sc.AllowedTopologies[0].MatchLabelExpressions[0].Values = nil },
			want: []string{"FieldValueRequired allowedTopologies[0].matchLabelExpressions[0].values"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validStorageClass()
			sc := old.DeepCopy()
			tc.mutate(sc)
			checkErrs(t, StorageClassUpdate(sc, old), tc.want)
		})
	}
}
