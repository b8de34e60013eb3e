package volumeprotection

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestUsedBy encodes upstream's pvc-protection rule: a pod scheduled to a
// node uses the claims it names; an ephemeral claim only while the pod,
// which must own it, has not been shut down.
func TestUsedBy(t *testing.T) {
	owner := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "pod-uid"}}
	claim := func(name string, owned bool) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
		if owned {
			c.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, corev1.SchemeGroupVersion.WithKind("Pod"))}
		}
		return c
	}
	pod := func(node string, vol corev1.VolumeSource, mutate ...func(*corev1.Pod)) *corev1.Pod {
		p := owner.DeepCopy()
		p.Spec.NodeName = node
		p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: vol}}
		for _, m := range mutate {
			m(p)
		}
		return p
	}
	named := corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}
	ephemeral := corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}
	shutDown := func(p *corev1.Pod) {
		p.DeletionTimestamp = &metav1.Time{}
		p.DeletionGracePeriodSeconds = ptr.To[int64](0)
	}
	succeeded := func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }
	tests := []struct {
		name  string
		pod   *corev1.Pod
		claim *corev1.PersistentVolumeClaim
		want  bool
	}{
		{"scheduled pod names it", pod("n1", named), claim("data", false), true},
		{"finished pod still names it", pod("n1", named, succeeded), claim("data", false), true},
		{"pending pod", pod("", named), claim("data", false), false},
		{"other claim", pod("n1", named), claim("other", false), false},
		{"ephemeral claim of the pod", pod("n1", ephemeral), claim("p-v", true), true},
		{"ephemeral claim of a shut-down pod", pod("n1", ephemeral, shutDown), claim("p-v", true), false},
		{"ephemeral name, not owned", pod("n1", ephemeral), claim("p-v", false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usedBy([]*corev1.Pod{tt.pod}, tt.claim); got != tt.want {
				t.Errorf("usedBy = %v, want %v", got, tt.want)
			}
		})
	}
}
