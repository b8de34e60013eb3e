package podnode

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Deletion says how Delete deletes a pod.
type Deletion struct {
	// Condition, if set, is added to the pod's status first (upstream sets
	// DisruptionTarget this way).
	Condition *corev1.PodCondition
	// Fail sets the phase of a pod that has not finished to Failed first,
	// as upstream's pod garbage collector does before a forced delete.
	Fail bool
	// GracePeriodSeconds, if set, overrides the pod's own (0: at once).
	GracePeriodSeconds *int64
}

// Delete deletes exactly pod (a UID precondition), after patching its status
// as d says. A pod already gone is no error.
func Delete(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, d Deletion) error {
	status := map[string]any{}
	if d.Condition != nil {
		cond := *d.Condition
		cond.ObservedGeneration = pod.Generation
		status["conditions"] = []corev1.PodCondition{cond}
	}
	if d.Fail && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		status["phase"] = corev1.PodFailed
	}
	pods := client.CoreV1().Pods(pod.Namespace)
	if len(status) > 0 {
		// The UID in the patch makes it fail, rather than touch a pod of the
		// same name created since.
		body, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": pod.UID}, "status": status})
		if err != nil {
			return err
		}
		_, err = pods.Patch(ctx, pod.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("patch status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	uid := pod.UID
	err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: d.GracePeriodSeconds,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
