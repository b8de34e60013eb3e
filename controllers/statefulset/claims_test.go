package statefulset

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestClaimOwners(t *testing.T) {
	const retain, del = appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	set := func(whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "set"},
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: whenDeleted, WhenScaled: whenScaled,
			}},
		}
	}
	pod := func(n int) *corev1.Pod {
		name := podName(&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, n)
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "pod-" + "uid"}}
	}
	setRef := func(s *appsv1.StatefulSet) metav1.OwnerReference { return *metav1.NewControllerRef(s, kind) }
	podRef := func(p *corev1.Pod) metav1.OwnerReference { return *metav1.NewControllerRef(p, podKind) }
	other := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Thing", Name: "x", UID: "thing", Controller: ptr.To(true)}

	for _, tc := range []struct {
		name             string
		set              *appsv1.StatefulSet
		pod              *corev1.Pod
		has              func(*appsv1.StatefulSet, *corev1.Pod) []metav1.OwnerReference
		wantSet, wantPod bool
		change           bool
	}{
		{"retain keeps none", set(retain, retain), pod(0), func(s *appsv1.StatefulSet, _ *corev1.Pod) []metav1.OwnerReference {
			return []metav1.OwnerReference{setRef(s)}
		}, false, false, true},
		{"whenDeleted: the set owns", set(del, retain), pod(0), nil, true, false, true},
		{"whenDeleted: the set owns a condemned pod's claim too", set(del, retain), pod(5), nil, true, false, true},
		{"whenScaled: in range, nobody", set(retain, del), pod(1), nil, false, false, false},
		{"whenScaled: condemned, the pod", set(retain, del), pod(2), nil, false, true, true},
		{"both: in range, the set", set(del, del), pod(0), func(s *appsv1.StatefulSet, _ *corev1.Pod) []metav1.OwnerReference {
			return []metav1.OwnerReference{setRef(s)}
		}, true, false, false},
		{"both: condemned, the pod only", set(del, del), pod(3), func(s *appsv1.StatefulSet, _ *corev1.Pod) []metav1.OwnerReference {
			return []metav1.OwnerReference{setRef(s)}
		}, false, true, true},
		{"another controller: only ours go", set(del, del), pod(0), func(s *appsv1.StatefulSet, p *corev1.Pod) []metav1.OwnerReference {
			return []metav1.OwnerReference{other, podRef(p)}
		}, false, false, true},
		{"stale set reference: left alone", set(del, del), pod(0), func(s *appsv1.StatefulSet, _ *corev1.Pod) []metav1.OwnerReference {
			ref := setRef(s)
			ref.UID = "earlier"
			return []metav1.OwnerReference{ref}
		}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claim := &corev1.PersistentVolumeClaim{}
			if tc.has != nil {
				claim.OwnerReferences = tc.has(tc.set, tc.pod)
			}
			refs, change := claimOwners(tc.set, tc.pod, claim)
			if change != tc.change {
				t.Errorf("change = %v, want %v", change, tc.change)
			}
			if !change {
				return
			}
			var bySet, byPod bool
			for _, r := range refs {
				bySet = bySet || r.UID == tc.set.UID
				byPod = byPod || r.UID == tc.pod.UID
			}
			if bySet != tc.wantSet || byPod != tc.wantPod {
				t.Errorf("owners %v: set %v pod %v, want set %v pod %v", refs, bySet, byPod, tc.wantSet, tc.wantPod)
			}
		})
	}
}

func TestParseName(t *testing.T) {
	for name, want := range map[string]int{"web-0": 0, "web-12": 12, "my-web-3": 3, "web": -1, "web-x": -1, "web-99999999999": -1} {
		if _, got := parseName(name); got != want {
			t.Errorf("parseName(%q) ordinal = %d, want %d", name, got, want)
		}
	}
}
