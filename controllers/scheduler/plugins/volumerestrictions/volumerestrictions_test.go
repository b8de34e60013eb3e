package volumerestrictions

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

func withVolume(name string, src corev1.VolumeSource) *corev1.Pod {
	p := ft.MakePod(name).Obj()
	p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: src}}
	return p
}

func claimSrc(name string) corev1.VolumeSource {
	return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
}

func gce(pd string, ro bool) corev1.VolumeSource {
	return corev1.VolumeSource{GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: pd, ReadOnly: ro}}
}

// TestFilter encodes upstream's rules: a ReadWriteOncePod claim in use by
// another pod blocks every node (preemptably); the same GCE disk conflicts
// on one node unless both mounts are read-only.
func TestFilter(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for name, mode := range map[string]corev1.PersistentVolumeAccessMode{"once": corev1.ReadWriteOncePod, "shared": corev1.ReadWriteOnce} {
		_ = idx.Add(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{mode}}})
	}
	pl := New(corelisters.NewPersistentVolumeClaimLister(idx))
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing *corev1.Pod
		want     string // "" fits, "skip" skipped
	}{
		{"RWOP claim unused", withVolume("p", claimSrc("once")), nil, "skip"},
		{"RWOP claim in use", withVolume("p", claimSrc("once")), withVolume("e", claimSrc("once")), ErrReasonReadWriteOncePodConflict},
		{"RWO claim in use", withVolume("p", claimSrc("shared")), withVolume("e", claimSrc("shared")), "skip"},
		{"same disk", withVolume("p", gce("d", false)), withVolume("e", gce("d", true)), ErrReasonDiskConflict},
		{"same disk, both read-only", withVolume("p", gce("d", true)), withVolume("e", gce("d", true)), ""},
		{"other disk", withVolume("p", gce("d", false)), withVolume("e", gce("x", false)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pods []*corev1.Pod
			if tt.existing != nil {
				pods = append(pods, tt.existing)
			}
			node := ft.NodeInfo(ft.MakeNode("n").Obj(), pods...)
			state := framework.NewCycleState(framework.NewSnapshot(node))
			st := pl.PreFilter(t.Context(), state, tt.pod)
			if tt.want == "skip" {
				if !st.IsSkip() {
					t.Errorf("PreFilter = %v, want Skip", st.Code())
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("PreFilter = %v %s", st.Code(), st.Message())
			}
			if got := pl.Filter(t.Context(), state, tt.pod, node).Message(); got != tt.want {
				t.Errorf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}
