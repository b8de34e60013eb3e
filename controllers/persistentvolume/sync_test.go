package persistentvolume

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

func pv(name, size string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		StorageClassName:              "c",
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
		AccessModes:                   modes,
		VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
	}, Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable}}
}

func pvc(name, size string, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
}

// newController returns a controller over objs, its informers' caches
// filled, and its fake event recorder.
func newController(t *testing.T, objs ...runtime.Object) (*Controller, *fake.Clientset, *record.FakeRecorder) {
	t.Helper()
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	events := record.NewFakeRecorder(100)
	c, err := New(Config{Client: client, Claims: f.Core().V1().PersistentVolumeClaims(), Volumes: f.Core().V1().PersistentVolumes(),
		Classes: f.Storage().V1().StorageClasses(), Events: events})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(t.Context().Done())
	f.WaitForCacheSync(t.Context().Done())
	return c, client, events
}

// TestMatch: an unbound claim binds the smallest fitting volume among
// those with the fewest access modes, honouring class, selector and
// volume mode; a WaitForFirstConsumer claim binds only a volume pre-bound
// to it.
func TestMatch(t *testing.T) {
	rwo, rwx := corev1.ReadWriteOnce, corev1.ReadWriteMany
	labelled := pv("labelled", "5Gi", rwo)
	labelled.Labels = map[string]string{"app": "db"}
	block := pv("block", "1Gi", rwo)
	block.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
	prebound := pv("prebound", "9Gi", rwo)
	prebound.Spec.StorageClassName = "late"
	prebound.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: "late"}
	volumes := []runtime.Object{pv("both-1Gi", "1Gi", rwo, rwx), pv("rwo-3Gi", "3Gi", rwo), pv("rwo-2Gi", "2Gi", rwo),
		pv("small", "500Mi", rwo), labelled, block, prebound, pv("late-free", "1Gi", rwo)}
	volumes[len(volumes)-1].(*corev1.PersistentVolume).Spec.StorageClassName = "late"
	selecting := pvc("selecting", "1Gi", "c")
	selecting.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	lateFree := pvc("late-free", "1Gi", "late")
	tests := []struct {
		claim *corev1.PersistentVolumeClaim
		want  string
	}{
		{pvc("plain", "1Gi", "c"), "rwo-2Gi"},
		{pvc("big", "4Gi", "c"), "labelled"},
		{selecting, "labelled"},
		{pvc("huge", "10Gi", "c"), ""},
		{pvc("late", "1Gi", "late"), "prebound"},
		{lateFree, ""},
	}
	wffc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "late"}, Provisioner: volume.NotSupportedProvisioner,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
	for _, tt := range tests {
		t.Run(tt.claim.Name, func(t *testing.T) {
			c, _, _ := newController(t, append(volumes, tt.claim, wffc)...)
			_, delayed, err := c.claimClass(tt.claim)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.findVolume(tt.claim, delayed)
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tt.want {
				t.Errorf("matched %q, want %q", name, tt.want)
			}
		})
	}
}

// TestSync: what one sync of a claim or volume writes and reports.
func TestSync(t *testing.T) {
	bound := func(name string, policy corev1.PersistentVolumeReclaimPolicy, provisioner string) *corev1.PersistentVolume {
		v := pv(name, "1Gi", corev1.ReadWriteOnce)
		v.Spec.PersistentVolumeReclaimPolicy = policy
		v.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: "gone", UID: "uid-gone"}
		v.Status.Phase = corev1.VolumeBound
		if provisioner != "" {
			v.Annotations = map[string]string{volume.AnnDynamicallyProvisioned: provisioner}
		}
		return v
	}
	lost := pvc("lost", "1Gi", "c")
	lost.Spec.VolumeName = "nowhere"
	lost.Annotations = map[string]string{volume.AnnBindCompleted: "yes"}
	lost.Status.Phase = corev1.ClaimBound
	external := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Provisioner: "example.com/csi",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate)}
	classless := pvc("classless", "1Gi", "")
	classless.Spec.StorageClassName = nil
	def := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local-path",
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "kubelite.io/local-path"}
	tests := []struct {
		name  string
		objs  []runtime.Object
		key   string
		check func(t *testing.T, client *fake.Clientset)
		event string
	}{
		{name: "retain releases", objs: []runtime.Object{bound("v", corev1.PersistentVolumeReclaimRetain, "")}, key: "pv:v",
			check: volumePhase("v", corev1.VolumeReleased)},
		{name: "delete without provisioner fails", objs: []runtime.Object{bound("v", corev1.PersistentVolumeReclaimDelete, "")}, key: "pv:v",
			check: volumePhase("v", corev1.VolumeFailed),
			event: `Warning VolumeFailedDelete error getting deleter volume plugin for volume "v": no deletable volume plugin matched`},
		{name: "delete by an external provisioner waits", objs: []runtime.Object{bound("v", corev1.PersistentVolumeReclaimDelete, "example.com/csi")}, key: "pv:v",
			check: volumePhase("v", corev1.VolumeReleased)},
		{name: "recycle fails", objs: []runtime.Object{bound("v", corev1.PersistentVolumeReclaimRecycle, "")}, key: "pv:v",
			check: volumePhase("v", corev1.VolumeFailed), event: "Warning VolumeFailedRecycle No recycler plugin found for the volume!"},
		{name: "lost claim", objs: []runtime.Object{lost}, key: "pvc:ns/lost",
			check: claimPhase("lost", corev1.ClaimLost), event: "Warning ClaimLost Bound claim has lost its PersistentVolume. Data on the volume is lost!"},
		{name: "default class assigned", objs: []runtime.Object{def, classless}, key: "pvc:ns/classless",
			check: func(t *testing.T, client *fake.Clientset) {
				got, err := client.CoreV1().PersistentVolumeClaims("ns").Get(t.Context(), "classless", metav1.GetOptions{})
				if err != nil || got.Spec.StorageClassName == nil || *got.Spec.StorageClassName != "local-path" {
					t.Errorf("claim class %v, %v; want local-path", got.Spec.StorageClassName, err)
				}
			}},
		{name: "external provisioner", objs: []runtime.Object{external, pvc("ext", "1Gi", "ext")}, key: "pvc:ns/ext",
			check: func(t *testing.T, client *fake.Clientset) {
				got, err := client.CoreV1().PersistentVolumeClaims("ns").Get(t.Context(), "ext", metav1.GetOptions{})
				if err != nil || got.Annotations[volume.AnnStorageProvisioner] != "example.com/csi" || got.Annotations[volume.AnnBetaStorageProvisioner] != "example.com/csi" {
					t.Errorf("claim annotations %v, %v", got.Annotations, err)
				}
			},
			event: "Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'example.com/csi' or manually by the system administrator."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, client, events := newController(t, tt.objs...)
			if err := c.sync(t.Context(), tt.key); err != nil {
				t.Fatal(err)
			}
			tt.check(t, client)
			var got []string
			for len(events.Events) > 0 {
				got = append(got, <-events.Events)
			}
			if tt.event != "" && (len(got) == 0 || !strings.HasPrefix(got[0], tt.event)) {
				t.Errorf("events %q, want %q", got, tt.event)
			}
		})
	}
}

func volumePhase(name string, want corev1.PersistentVolumePhase) func(*testing.T, *fake.Clientset) {
	return func(t *testing.T, client *fake.Clientset) {
		got, err := client.CoreV1().PersistentVolumes().Get(t.Context(), name, metav1.GetOptions{})
		if err != nil || got.Status.Phase != want || got.Status.LastPhaseTransitionTime == nil {
			t.Errorf("volume phase %v (transition %v), %v; want %s", got.Status.Phase, got.Status.LastPhaseTransitionTime, err, want)
		}
	}
}

func claimPhase(name string, want corev1.PersistentVolumeClaimPhase) func(*testing.T, *fake.Clientset) {
	return func(t *testing.T, client *fake.Clientset) {
		got, err := client.CoreV1().PersistentVolumeClaims("ns").Get(t.Context(), name, metav1.GetOptions{})
		if err != nil || got.Status.Phase != want {
			t.Errorf("claim phase %v, %v; want %s", got.Status.Phase, err, want)
		}
	}
}
