package volumes_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent/volumes"
)

// TestManager drives a Manager against a real API server: projected
// volumes (configMap, optional missing secret, downwardAPI, service
// account token), token renewal after 80 % of its lifetime, a watched
// secret's update reaching its file, hostPath checks, a claim, and
// TearDown.
func TestManager(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir()})
	s.CreateNamespace(t, "vol")
	ctx := t.Context()
	core := s.Client.CoreV1()
	if _, err := core.ConfigMaps("vol").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Secrets("vol").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"pw": []byte("one")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostDir := t.TempDir()
	pod, err := core.Pods("vol").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			Volumes: []corev1.Volume{
				{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3600), Audience: "test"}},
				}}}},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(hostDir, "made"), Type: ptr.To(corev1.HostPathDirectoryOrCreate)}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clock := testingclock.NewFakeClock(time.Now())
	podsDir := t.TempDir()
	m, err := volumes.New(volumes.Config{Client: s.Client, Dir: podsDir, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); m.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	// The pod's injected kube-api-access volume projects the namespace's
	// kube-root-ca.crt, which a controller publishes.
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := core.ConfigMaps("vol").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("no kube-root-ca.crt: %v", err)
	}
	vols, err := m.SetUp(ctx, pod)
	if err != nil {
		t.Fatalf("SetUp: %v", err)
	}
	read := func(vol, file string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(vols[vol].Path, file))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("proj", "k") + " " + read("proj", "name"); got != "v p" || !vols["proj"].ReadOnly {
		t.Errorf("projected files %q (read-only %v), want \"v p\", read-only", got, vols["proj"].ReadOnly)
	}
	token := read("proj", "token")
	if strings.Count(token, ".") != 2 {
		t.Errorf("token %q is not a JWT", token)
	}
	if info, err := os.Stat(filepath.Join(hostDir, "made")); err != nil || !info.IsDir() || vols["host"].Path != filepath.Join(hostDir, "made") {
		t.Errorf("hostPath DirectoryOrCreate: %v, %v", info, err)
	}

	// Not yet due: the same token. Past 80 % of an hour: a new one.
	clock.Step(40 * time.Minute)
	if _, err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if read("proj", "token") != token {
		t.Error("token renewed before 80 % of its lifetime")
	}
	clock.Step(10 * time.Minute)
	time.Sleep(1100 * time.Millisecond) // the token's issue time is in seconds
	if _, err := m.SetUp(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if read("proj", "token") == token {
		t.Error("token not renewed after 80 % of its lifetime")
	}

	// The secret is watched: its update reaches the file.
	if _, err := core.Secrets("vol").Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"pw": []byte("two")}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		b, _ := os.ReadFile(filepath.Join(vols["sec"].Path, "pw"))
		return string(b) == "two", nil
	}); err != nil {
		t.Errorf("the secret's update did not reach its file: %v", err)
	}

	// A new manager (the agent restarted) adopts the pod and keeps its
	// volumes current.
	cancel()
	<-done
	adopter, err := volumes.New(volumes.Config{Client: s.Client, Dir: podsDir})
	if err != nil {
		t.Fatal(err)
	}
	adoptCtx, stopAdopter := context.WithCancel(ctx)
	adopterDone := make(chan struct{})
	go func() { defer close(adopterDone); adopter.Run(adoptCtx) }()
	t.Cleanup(func() { stopAdopter(); <-adopterDone })
	adopter.Adopt("vol", "p", pod.UID)
	if _, err := core.Secrets("vol").Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"pw": []byte("three")}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		b, _ := os.ReadFile(filepath.Join(vols["sec"].Path, "pw"))
		return string(b) == "three", nil
	}); err != nil {
		t.Errorf("the secret's update did not reach the adopted pod's file: %v", err)
	}
	m = adopter

	// A hostPath whose type does not match, a claim that is not bound.
	bad := pod.DeepCopy()
	bad.UID = "bad"
	bad.Spec.Volumes = []corev1.Volume{{Name: "file", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir, Type: ptr.To(corev1.HostPathFile)}}}}
	var me *volumes.MountError
	if _, err := m.SetUp(ctx, bad); !errors.As(err, &me) || !strings.Contains(err.Error(), "is not a file") {
		t.Errorf("hostPath File on a directory: %v", err)
	}
	if _, err := core.PersistentVolumeClaims("vol").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "claim"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("none"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bad.Spec.Volumes = []corev1.Volume{{Name: "pvc", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}}}}
	if _, err := m.SetUp(ctx, bad); err == nil || !strings.Contains(err.Error(), `claim "claim" is not bound`) {
		t.Errorf("unbound claim: %v", err)
	}

	// A claim bound to a hostPath volume: that path.
	if _, err := core.PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "vol-pv"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:         corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")},
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: "manual",
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: filepath.Join(hostDir, "pv"), Type: ptr.To(corev1.HostPathDirectoryOrCreate)}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := core.PersistentVolumeClaims("vol").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "bound"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("manual"), VolumeName: "vol-pv",
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bad.Spec.Volumes = []corev1.Volume{{Name: "pvc", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "bound", ReadOnly: true}}}}
	var got map[string]volumes.Volume
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err = m.SetUp(ctx, bad)
		return err == nil, nil
	}); err != nil {
		t.Errorf("bound claim: %v", err)
	} else if want := (volumes.Volume{Path: filepath.Join(hostDir, "pv"), ReadOnly: true}); got["pvc"] != want {
		t.Errorf("bound claim's volume %+v, want %+v", got["pvc"], want)
	}

	if err := m.TearDown(ctx, pod.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.Dir(pod.UID)); !os.IsNotExist(err) {
		t.Errorf("volumes directory after TearDown: %v", err)
	}
	if _, err := os.Stat(filepath.Join(hostDir, "made")); err != nil {
		t.Errorf("TearDown removed the hostPath: %v", err)
	}
}
