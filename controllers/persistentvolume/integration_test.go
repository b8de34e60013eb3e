package persistentvolume_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

const timeout = 30 * time.Second

// TestPersistentVolumes runs the PV controller, the volume protection
// controller, the scheduler and two simulated nodes in a real server.
func TestPersistentVolumes(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Simulated: app.SimulatedNodesConfig{Count: 2}})
	c := s.Client

	t.Run("static volume binds, Retain releases", func(t *testing.T) {
		t.Parallel()
		ns := "pv-static"
		s.CreateNamespace(t, ns)
		// The larger volume is created first: the smaller one that fits wins.
		createPV(t, c, staticPV("static-big", "5Gi", "manual", corev1.PersistentVolumeReclaimRetain))
		createPV(t, c, staticPV("static-small", "2Gi", "manual", corev1.PersistentVolumeReclaimRetain))
		createPV(t, c, staticPV("static-tiny", "500Mi", "manual", corev1.PersistentVolumeReclaimRetain))
		pvc := createPVC(t, c, claim(ns, "data", "1Gi", ptr.To("manual")))
		if !slices.Contains(pvc.Finalizers, "kubernetes.io/pvc-protection") {
			t.Errorf("claim finalizers %v, want kubernetes.io/pvc-protection from admission", pvc.Finalizers)
		}
		got := waitPVC(t, c, ns, "data", func(p *corev1.PersistentVolumeClaim) bool { return p.Status.Phase == corev1.ClaimBound })
		if got.Spec.VolumeName != "static-small" {
			t.Errorf("claim bound to %q, want static-small (the smallest that fits)", got.Spec.VolumeName)
		}
		for _, a := range []string{volume.AnnBindCompleted, volume.AnnBoundByController} {
			if !metav1.HasAnnotation(got.ObjectMeta, a) {
				t.Errorf("claim lacks annotation %s: %v", a, got.Annotations)
			}
		}
		if q := got.Status.Capacity[corev1.ResourceStorage]; q.String() != "2Gi" || !slices.Equal(got.Status.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
			t.Errorf("claim status capacity %s, access modes %v", q.String(), got.Status.AccessModes)
		}
		pv := waitPV(t, c, "static-small", func(v *corev1.PersistentVolume) bool { return v.Status.Phase == corev1.VolumeBound })
		if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != "data" || ref.Namespace != ns || ref.UID != got.UID {
			t.Errorf("volume claimRef = %+v, want the claim with uid %s", ref, got.UID)
		}
		if !metav1.HasAnnotation(pv.ObjectMeta, volume.AnnBoundByController) || !slices.Contains(pv.Finalizers, "kubernetes.io/pv-protection") {
			t.Errorf("volume annotations %v finalizers %v", pv.Annotations, pv.Finalizers)
		}
		waitPV(t, c, "static-big", func(v *corev1.PersistentVolume) bool { return v.Status.Phase == corev1.VolumeAvailable })

		// A bound volume may not go while bound.
		if err := c.CoreV1().PersistentVolumes().Delete(t.Context(), "static-tiny", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPVGone(t, c, "static-tiny")

		if err := c.CoreV1().PersistentVolumeClaims(ns).Delete(t.Context(), "data", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPVCGone(t, c, ns, "data")
		pv = waitPV(t, c, "static-small", func(v *corev1.PersistentVolume) bool { return v.Status.Phase == corev1.VolumeReleased })
		if pv.Spec.ClaimRef == nil {
			t.Errorf("released volume lost its claimRef")
		}
	})

	t.Run("pre-bound claim and volume", func(t *testing.T) {
		t.Parallel()
		ns := "pv-prebound"
		s.CreateNamespace(t, ns)
		pv := staticPV("pre-vol", "1Gi", "prebound", corev1.PersistentVolumeReclaimRetain)
		pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: ns, Name: "wants-vol"}
		createPV(t, c, pv)
		createPV(t, c, staticPV("named-vol", "1Gi", "named", corev1.PersistentVolumeReclaimRetain))
		// A claim of the same class and size must not take the pre-bound volume.
		createPVC(t, c, claim(ns, "other", "1Gi", ptr.To("prebound")))
		createPVC(t, c, claim(ns, "wants-vol", "1Gi", ptr.To("prebound")))
		named := claim(ns, "names-vol", "1Gi", ptr.To("named"))
		named.Spec.VolumeName = "named-vol"
		createPVC(t, c, named)
		got := waitPVC(t, c, ns, "wants-vol", func(p *corev1.PersistentVolumeClaim) bool { return p.Status.Phase == corev1.ClaimBound })
		if got.Spec.VolumeName != "pre-vol" {
			t.Errorf("wants-vol bound to %q", got.Spec.VolumeName)
		}
		got = waitPVC(t, c, ns, "names-vol", func(p *corev1.PersistentVolumeClaim) bool { return p.Status.Phase == corev1.ClaimBound })
		if metav1.HasAnnotation(got.ObjectMeta, volume.AnnBoundByController) {
			t.Errorf("user's pre-bound claim got bound-by-controller")
		}
		waitPV(t, c, "named-vol", func(v *corev1.PersistentVolume) bool {
			return v.Status.Phase == corev1.VolumeBound && v.Spec.ClaimRef != nil && v.Spec.ClaimRef.Name == "names-vol"
		})
		other, err := c.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), "other", metav1.GetOptions{})
		if err != nil || other.Status.Phase != corev1.ClaimPending {
			t.Errorf("other claim: %v, %v; want Pending", other.Status.Phase, err)
		}
		waitEvent(t, c, ns, "other", "ProvisioningFailed", `storageclass.storage.k8s.io "prebound" not found`)
		createPVC(t, c, claim(ns, "classless", "1Gi", ptr.To("")))
		waitEvent(t, c, ns, "classless", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")

		// A claim that names a volume not there yet binds once it comes.
		early := claim(ns, "names-later", "1Gi", ptr.To("named"))
		early.Spec.VolumeName = "later-vol"
		createPVC(t, c, early)
		time.Sleep(2 * time.Second) // the claim is synced, and stays Pending
		createPV(t, c, staticPV("later-vol", "1Gi", "named", corev1.PersistentVolumeReclaimRetain))
		waitPVC(t, c, ns, "names-later", func(p *corev1.PersistentVolumeClaim) bool { return p.Status.Phase == corev1.ClaimBound })
	})

	t.Run("default class provisions on the pod's node", func(t *testing.T) {
		t.Parallel()
		ns := "pv-dynamic"
		s.CreateNamespace(t, ns)
		pvc := createPVC(t, c, claim(ns, "data", "1Gi", nil))
		if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "local-path" {
			t.Fatalf("claim class %v, want the default local-path", pvc.Spec.StorageClassName)
		}
		waitEvent(t, c, ns, "data", "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
		createPod(t, c, ns, "user", "data")
		pod := waitPod(t, c, ns, "user", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		got := waitPVC(t, c, ns, "data", func(p *corev1.PersistentVolumeClaim) bool { return p.Status.Phase == corev1.ClaimBound })
		if sel := got.Annotations[volume.AnnSelectedNode]; sel != pod.Spec.NodeName {
			t.Errorf("claim selected-node %q, pod on %q", sel, pod.Spec.NodeName)
		}
		if p := got.Annotations[volume.AnnStorageProvisioner]; p != "kubelite.io/local-path" {
			t.Errorf("claim storage-provisioner %q", p)
		}
		name := "pvc-" + string(got.UID)
		if got.Spec.VolumeName != name {
			t.Errorf("claim bound to %q, want %s", got.Spec.VolumeName, name)
		}
		pv := waitPV(t, c, name, func(v *corev1.PersistentVolume) bool { return v.Status.Phase == corev1.VolumeBound })
		if pv.Annotations[volume.AnnDynamicallyProvisioned] != "kubelite.io/local-path" || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
			pv.Spec.StorageClassName != "local-path" || pv.Spec.HostPath == nil || pv.Spec.HostPath.Path != filepath.Join(s.DataDir, "storage", name) {
			t.Errorf("provisioned volume: annotations %v, policy %s, class %q, source %+v", pv.Annotations, pv.Spec.PersistentVolumeReclaimPolicy, pv.Spec.StorageClassName, pv.Spec.PersistentVolumeSource)
		}
		if err := volume.CheckNodeAffinity(pv, map[string]string{corev1.LabelHostname: pod.Spec.NodeName}); err != nil {
			t.Errorf("volume affinity does not admit the pod's node %s: %v", pod.Spec.NodeName, err)
		}
		if err := volume.CheckNodeAffinity(pv, map[string]string{corev1.LabelHostname: "elsewhere"}); err == nil {
			t.Errorf("volume affinity %+v admits any node", pv.Spec.NodeAffinity)
		}
		waitEvent(t, c, ns, "data", "ProvisioningSucceeded", "Successfully provisioned volume "+name+" using kubelite.io/local-path")

		// A second pod on the bound claim goes to the volume's node.
		createPod(t, c, ns, "second", "data")
		if p := waitPod(t, c, ns, "second", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" }); p.Spec.NodeName != pod.Spec.NodeName {
			t.Errorf("second pod on %s, volume on %s", p.Spec.NodeName, pod.Spec.NodeName)
		}
		for _, p := range []string{"user", "second"} {
			if err := c.CoreV1().Pods(ns).Delete(t.Context(), p, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.CoreV1().PersistentVolumeClaims(ns).Delete(t.Context(), "data", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPVCGone(t, c, ns, "data")
		waitPVGone(t, c, name)
	})

	t.Run("claim in use keeps its finalizer", func(t *testing.T) {
		t.Parallel()
		ns := "pv-inuse"
		s.CreateNamespace(t, ns)
		createPV(t, c, staticPV("inuse-vol", "1Gi", "", corev1.PersistentVolumeReclaimRetain))
		pvc := claim(ns, "data", "1Gi", ptr.To(""))
		pvc.Spec.VolumeName = "inuse-vol"
		createPVC(t, c, pvc)
		createPod(t, c, ns, "user", "data")
		waitPod(t, c, ns, "user", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		if err := c.CoreV1().PersistentVolumeClaims(ns).Delete(t.Context(), "data", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Give the controller time to (wrongly) remove the finalizer.
		time.Sleep(2 * time.Second)
		got, err := c.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), "data", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("claim in use is gone: %v", err)
		}
		if got.DeletionTimestamp == nil || !slices.Contains(got.Finalizers, "kubernetes.io/pvc-protection") {
			t.Errorf("claim in use: deletionTimestamp %v, finalizers %v", got.DeletionTimestamp, got.Finalizers)
		}
		if err := c.CoreV1().Pods(ns).Delete(t.Context(), "user", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		waitPVCGone(t, c, ns, "data")
		waitPV(t, c, "inuse-vol", func(v *corev1.PersistentVolume) bool { return v.Status.Phase == corev1.VolumeReleased })
	})
}

func staticPV(name, size, class string, policy corev1.PersistentVolumeReclaimPolicy) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/mnt/" + name}},
			PersistentVolumeReclaimPolicy: policy,
			StorageClassName:              class,
		},
	}
}

func claim(ns, name, size string, class *string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			StorageClassName: class,
		},
	}
}

func createPV(t *testing.T, c kubernetes.Interface, pv *corev1.PersistentVolume) {
	t.Helper()
	if _, err := c.CoreV1().PersistentVolumes().Create(t.Context(), pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createPVC(t *testing.T, c kubernetes.Interface, pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	t.Helper()
	got, err := c.CoreV1().PersistentVolumeClaims(pvc.Namespace).Create(t.Context(), pvc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func createPod(t *testing.T, c kubernetes.Interface, ns, name, claimName string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "busybox", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}}},
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// poll waits for get to report done, failing the test after timeout with
// the last state.
func poll[T any](t *testing.T, what string, get func(ctx context.Context) (T, error), done func(T) bool) T {
	t.Helper()
	var last T
	var lastErr error
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last, lastErr = get(ctx)
		return lastErr == nil && done(last), nil
	})
	if err != nil {
		t.Fatalf("%s: timed out; last %+v, err %v", what, last, lastErr)
	}
	return last
}

func waitPVC(t *testing.T, c kubernetes.Interface, ns, name string, done func(*corev1.PersistentVolumeClaim) bool) *corev1.PersistentVolumeClaim {
	t.Helper()
	return poll(t, "claim "+ns+"/"+name, func(ctx context.Context) (*corev1.PersistentVolumeClaim, error) {
		return c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	}, done)
}

func waitPV(t *testing.T, c kubernetes.Interface, name string, done func(*corev1.PersistentVolume) bool) *corev1.PersistentVolume {
	t.Helper()
	return poll(t, "volume "+name, func(ctx context.Context) (*corev1.PersistentVolume, error) {
		return c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
	}, done)
}

func waitPod(t *testing.T, c kubernetes.Interface, ns, name string, done func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	return poll(t, "pod "+ns+"/"+name, func(ctx context.Context) (*corev1.Pod, error) {
		return c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	}, done)
}

func gone(err error) (bool, error) {
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, err
}

func waitPVCGone(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	poll(t, "claim "+ns+"/"+name+" gone", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return gone(err)
	}, func(b bool) bool { return b })
}

func waitPVGone(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	poll(t, "volume "+name+" gone", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		return gone(err)
	}, func(b bool) bool { return b })
}

// waitEvent waits for an event of reason and message about the object
// name in ns.
func waitEvent(t *testing.T, c kubernetes.Interface, ns, name, reason, message string) {
	t.Helper()
	poll(t, fmt.Sprintf("event %s on %s/%s", reason, ns, name), func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String()})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == reason && e.Message == message {
				return true, nil
			}
		}
		return false, nil
	}, func(b bool) bool { return b })
}
