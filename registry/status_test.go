package registry_test

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestDeploymentStatusKeepsLabels: a status write carrying older labels (a
// controller's stale copy, with a current resourceVersion) leaves the labels
// as they are, as upstream's Deployment status strategy does.
func TestDeploymentStatusKeepsLabels(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	c := s.Client.AppsV1().Deployments("default")
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "labelled", Labels: map[string]string{"tier": "old"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
	created, err := c.Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Patch(ctx, "labelled", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"new"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// The deployment controller writes too: retry with the current
	// resourceVersion, the labels staying the stale ones.
	var got *appsv1.Deployment
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := c.Get(ctx, "labelled", metav1.GetOptions{})
		if err != nil {
			return err
		}
		stale := created.DeepCopy()
		stale.ResourceVersion = cur.ResourceVersion
		stale.Status.ObservedGeneration = created.Generation
		got, err = c.UpdateStatus(ctx, stale, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["tier"] != "new" || got.Status.ObservedGeneration != created.Generation {
		t.Fatalf("after the status write: labels %v, observedGeneration %d", got.Labels, got.Status.ObservedGeneration)
	}
}
