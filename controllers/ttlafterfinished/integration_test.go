package ttlafterfinished_test

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestTTLAfterFinished runs a Job with a TTL on a simulated node: once it
// completes and the TTL passes, it is deleted, and its pods with it.
func TestTTLAfterFinished(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Simulated: app.SimulatedNodesConfig{Count: 1}})
	c := s.Client
	ns := "ttl"
	s.CreateNamespace(t, ns)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "short-lived"},
		Spec: batchv1.JobSpec{
			TTLSecondsAfterFinished: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				NodeName:      "kubelite-sim-0000",
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
			}},
		},
	}
	created, err := c.BatchV1().Jobs(ns).Create(t.Context(), job, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var completedAt time.Time
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		j, err := c.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err == nil && j.Status.CompletionTime != nil {
			completedAt = j.Status.CompletionTime.Time
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("job not deleted: %v", err)
	}
	if completedAt.IsZero() {
		t.Error("job deleted before it was seen complete")
	} else if d := time.Since(completedAt); d < 2*time.Second {
		t.Errorf("job deleted %v after its completionTime, want at least its 2 s TTL", d)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.ControllerUidLabel + "=" + string(created.UID)})
		return err == nil && len(pods.Items) == 0, nil
	})
	if err != nil {
		t.Errorf("pods of the deleted job remain: %v", err)
	}
}
