package job_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

func newJob(ns, name string, completions, parallelism int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(completions),
			Parallelism: ptr.To(parallelism),
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					NodeName:      node,
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
				},
			},
		},
	}
}

func create(t *testing.T, c kubernetes.Interface, j *batchv1.Job) *batchv1.Job {
	t.Helper()
	got, err := c.BatchV1().Jobs(j.Namespace).Create(t.Context(), j, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create job: %v", err)
	}
	return got
}

// waitJob waits until the Job has condition t True.
func waitJob(t *testing.T, c kubernetes.Interface, ns, name string, ct batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	return waitJobFunc(t, c, ns, name, string(ct), func(j *batchv1.Job) bool { return hasCondition(j, ct, corev1.ConditionTrue) })
}

func waitJobFunc(t *testing.T, c kubernetes.Interface, ns, name, what string, ok func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var last *batchv1.Job
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		j, err := c.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = j
		return ok(j), nil
	})
	if err != nil {
		if last != nil {
			t.Fatalf("job %s/%s: not %s: status %+v", ns, name, what, last.Status)
		}
		t.Fatalf("job %s/%s: not %s: %v", ns, name, what, err)
	}
	return last
}

func jobPods(t *testing.T, c kubernetes.Interface, ns string, j *batchv1.Job) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: batchv1.ControllerUidLabel + "=" + string(j.UID)})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func findCondition(j *batchv1.Job, ct batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == ct {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

func hasCondition(j *batchv1.Job, ct batchv1.JobConditionType, s corev1.ConditionStatus) bool {
	c := findCondition(j, ct)
	return c != nil && c.Status == s
}

func wantCondition(t *testing.T, j *batchv1.Job, ct batchv1.JobConditionType, reason, message string) {
	t.Helper()
	c := findCondition(j, ct)
	if c == nil || c.Status != corev1.ConditionTrue || c.Reason != reason || c.Message != message {
		t.Errorf("condition %s = %+v, want True %s %q", ct, c, reason, message)
	}
}

// setSuspend sets spec.suspend with a merge patch, so that status writes in
// between do not conflict.
func setSuspend(t *testing.T, c kubernetes.Interface, j *batchv1.Job, suspend bool) {
	t.Helper()
	patch := fmt.Appendf(nil, `{"spec":{"suspend":%t}}`, suspend)
	if _, err := c.BatchV1().Jobs(j.Namespace).Patch(t.Context(), j.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("set suspend %t: %v", suspend, err)
	}
}
