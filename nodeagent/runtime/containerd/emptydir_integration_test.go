package containerd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// TestServerEmptyDirSizeLimit: a pod whose disk emptyDir grows past its
// sizeLimit is evicted as upstream evicts it (Failed, reason Evicted,
// upstream's message, an Evicted event), while a pod under its limit runs
// on; a Memory emptyDir is a tmpfs of its sizeLimit, so a write past it
// fails in the container.
func TestServerEmptyDirSizeLimit(t *testing.T) {
	if daemon == nil {
		t.Skip(skipReason)
	}
	s, _ := startLocalNodeServer(t, "kl-edl-")
	s.CreateNamespace(t, "ctd")
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods("ctd")
	emptyDirPod := func(name string, medium corev1.StorageMedium, script string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](0),
				Containers: []corev1.Container{{
					Name: "main", Image: testImage, Command: []string{"sh", "-c", script},
					VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: "/cache"}},
				}},
				Volumes: []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{
					EmptyDir: &corev1.EmptyDirVolumeSource{Medium: medium, SizeLimit: ptr.To(resource.MustParse("1Mi"))},
				}}},
			},
		}
	}
	for _, p := range []*corev1.Pod{
		emptyDirPod("over", "", "dd if=/dev/zero of=/cache/f bs=1M count=3; sleep 3600"),
		emptyDirPod("under", "", "dd if=/dev/zero of=/cache/f bs=1k count=100; sleep 3600"),
		emptyDirPod("memory", corev1.StorageMediumMemory, "dd if=/dev/zero of=/cache/f bs=1M count=3 || echo write failed; sleep 3600"),
	} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, s, "under", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	p := waitFor(t, s, "over", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if want := `Usage of EmptyDir volume "cache" exceeds the limit "1Mi". `; p.Status.Reason != "Evicted" || p.Status.Message != want {
		t.Errorf("evicted pod's status: reason %q, message %q; want Evicted, %q", p.Status.Reason, p.Status.Message, want)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		events, err := s.Client.CoreV1().Events("ctd").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=over,reason=Evicted"})
		return err == nil && len(events.Items) > 0, nil
	})
	if err != nil {
		t.Errorf("no Evicted event for the pod over its limit (%v)", err)
	}
	under, err := pods.Get(ctx, "under", metav1.GetOptions{})
	if err != nil || under.Status.Phase != corev1.PodRunning {
		t.Errorf("pod under its limit: %v, %v; want Running", under.Status.Phase, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var logs []byte
	for time.Now().Before(deadline) {
		if logs, err = pods.GetLogs("memory", &corev1.PodLogOptions{}).DoRaw(ctx); err == nil && contains(logs, "write failed") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !contains(logs, "No space left on device") || !contains(logs, "write failed") {
		t.Errorf("memory emptyDir log = %q; want the write past its 1Mi limit to fail", logs)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
