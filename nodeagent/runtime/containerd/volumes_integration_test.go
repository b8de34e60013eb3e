package containerd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestServerVolumes: on `kubelite server --local-node=containerd`, a pod
// sees its configMap, secret (items, mode), downwardAPI (labels, a
// resource limit) and service account (token, CA, namespace) volumes; an
// update of the configMap reaches the mounted file; a pod whose configMap
// is missing waits in ContainerCreating with a FailedMount event, and
// starts once the configMap is created; runAsNonRoot over a root image is
// CreateContainerConfigError, and so is an env var from a missing key;
// env vars from configMaps, secrets, envFrom and resource limits resolve.
func TestServerVolumes(t *testing.T) {
	if daemon == nil {
		t.Skip(skipReason)
	}
	s, dir := startLocalNodeServer(t, "kl-vol-")
	s.CreateNamespace(t, "ctd")
	ctx := context.Background()
	core := s.Client.CoreV1()
	if _, err := core.ConfigMaps("ctd").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "conf"}, Data: map[string]string{"greeting": "hello"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Secrets("ctd").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"password": []byte("s3cret"), "other": []byte("x")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	script := `set -e; sa=/var/run/secrets/kubernetes.io/serviceaccount
echo "secret=$(cat /etc/sec/pw) mode=$(stat -L -c %a /etc/sec/pw) files=$(ls /etc/sec | tr '\n' ,)"
echo "labels=$(cat /etc/down/labels | tr '\n' ,) mem=$(cat /etc/down/mem)"
echo "env cm=$CM sec=$SEC from=$PRE_greeting mem=$MEM_MI"
echo "kubernetes=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT $KUBERNETES_PORT"
echo "token-parts=$(awk -F. '{print NF}' $sa/token) ns=$(cat $sa/namespace) ca=$(grep -c 'BEGIN CERTIFICATE' $sa/ca.crt)"
last=; while :; do v=$(cat /etc/conf/greeting); if [ "$v" != "$last" ]; then echo "greeting=$v"; last=$v; fi; sleep 0.1; done`
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "volumes", Labels: map[string]string{"app": "vol", "tier": "test"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name: "main", Image: testImage, Command: []string{"sh", "-c", script},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
				Env: []corev1.EnvVar{
					{Name: "CM", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}, Key: "greeting"}}},
					{Name: "SEC", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
					{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
				},
				EnvFrom: []corev1.EnvFromSource{{Prefix: "PRE_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "conf", MountPath: "/etc/conf"}, {Name: "sec", MountPath: "/etc/sec"}, {Name: "down", MountPath: "/etc/down"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName: "creds", DefaultMode: ptr.To[int32](0o400), Items: []corev1.KeyToPath{{Key: "password", Path: "pw"}},
				}}},
				{Name: "down", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
					{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "main", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
				}}}},
			},
		},
	}
	created, err := core.Pods("ctd").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "pods", string(created.UID), "logs", "main", "0.log")
	master, err := core.Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitLogLine(t, logFile, "greeting=hello")
	for _, want := range []string{
		"secret=s3cret mode=400 files=pw,",
		`labels=app="vol",tier="test" mem=64`,
		"token-parts=3 ns=ctd ca=1",
		"env cm=hello sec=s3cret from=hello mem=64",
		fmt.Sprintf("kubernetes=%s:443 tcp://%s:443", master.Spec.ClusterIP, master.Spec.ClusterIP),
	} {
		waitLogLine(t, logFile, want)
	}

	start := time.Now()
	if _, err := core.ConfigMaps("ctd").Update(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "conf"}, Data: map[string]string{"greeting": "bye"},
	}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitLogLine(t, logFile, "greeting=bye")
	t.Logf("configMap update reached the file after %v", time.Since(start))

	// A missing configMap: ContainerCreating and FailedMount, until it comes.
	late := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "late"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{Name: "main", Image: testImage, Command: []string{"sh", "-c", "cat /etc/late/k; sleep 3600"},
				VolumeMounts: []corev1.VolumeMount{{Name: "late", MountPath: "/etc/late"}}}},
			Volumes: []corev1.Volume{{Name: "late", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "late"}}}}},
		},
	}
	if _, err := core.Pods("ctd").Create(ctx, late, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "late", "waiting in ContainerCreating", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "ContainerCreating" &&
			strings.Contains(p.Status.ContainerStatuses[0].State.Waiting.Message, `configmap "late"`)
	})
	waitEvent(t, s, "late", "FailedMount")
	if _, err := core.ConfigMaps("ctd").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "late"}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "late", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })

	missingKey := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "missing-key"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: testImage, Command: []string{"true"},
			Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}, Key: "absent"}}}}}}},
	}
	if _, err := core.Pods("ctd").Create(ctx, missingKey, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "missing-key", "CreateContainerConfigError", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "CreateContainerConfigError" &&
			p.Status.ContainerStatuses[0].State.Waiting.Message == "couldn't find key absent in ConfigMap ctd/conf"
	})

	nonRoot := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nonroot"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: testImage, Command: []string{"true"},
			SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}}}},
	}
	if _, err := core.Pods("ctd").Create(ctx, nonRoot, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "nonroot", "CreateContainerConfigError", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "CreateContainerConfigError" &&
			strings.HasPrefix(p.Status.ContainerStatuses[0].State.Waiting.Message, "container has runAsNonRoot and image will run as root")
	})

	for _, name := range []string{"volumes", "late", "missing-key", "nonroot"} {
		if err := core.Pods("ctd").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted pods leave no volumes (nor their tmpfs) behind.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := os.Stat(filepath.Join(dir, "pods", string(created.UID)))
		return os.IsNotExist(err), nil
	})
	if err != nil {
		t.Errorf("the deleted pod's directory stayed: %v", err)
	}
}

// waitLogLine waits for a line of the CRI log at path whose content is want.
func waitLogLine(t *testing.T, path, want string) {
	t.Helper()
	var b []byte
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		b, _ = os.ReadFile(path)
		for _, l := range strings.Split(string(b), "\n") {
			if parts := strings.SplitN(l, " ", 4); len(parts) == 4 && parts[3] == want {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("log %s never said %q; it holds:\n%s", path, want, b)
	}
}

// waitEvent waits for an event with reason about the pod name in "ctd".
func waitEvent(t *testing.T, s *testserver.Server, name, reason string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := s.Client.CoreV1().Events("ctd").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name && e.Reason == reason {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event for pod %s", reason, name)
	}
}
