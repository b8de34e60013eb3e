package deployment_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/controllers/deployment"
)

// TestDeployments runs the controllers in a real server. No node agent
// runs: a helper marks every pod Running and Ready, as a node would.
func TestDeployments(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client

	t.Run("rolling update, undo, pause, scale", func(t *testing.T) {
		ns := "deploy-rolling"
		s.CreateNamespace(t, ns)
		readyPods(t, c, ns)
		d := testserver.Deployment(ns, "web", 3, "image:a")
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{
			MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1)),
		}
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitComplete(t, c, ns, "web", 3, "image:a")
		first := currentRS(t, c, ns, "web")
		if first.Annotations[deployment.RevisionAnnotation] != "1" {
			t.Errorf("first replica set revision = %q, want 1", first.Annotations[deployment.RevisionAnnotation])
		}

		// Never fewer than 3 ready pods while rolling from a to b (maxUnavailable 0).
		var low atomic.Int32
		low.Store(3)
		stop := watchReady(t, c, ns, &low)
		setImage(t, c, ns, "web", "image:b")
		waitComplete(t, c, ns, "web", 3, "image:b")
		stop()
		if n := low.Load(); n < 3 {
			t.Errorf("ready pods dropped to %d during the rollout, want at least 3", n)
		}
		second := currentRS(t, c, ns, "web")
		if second.Name == first.Name || second.Annotations[deployment.RevisionAnnotation] != "2" {
			t.Errorf("after the update: replica set %s revision %q", second.Name, second.Annotations[deployment.RevisionAnnotation])
		}
		if rs, err := c.AppsV1().ReplicaSets(ns).Get(t.Context(), first.Name, metav1.GetOptions{}); err != nil || *rs.Spec.Replicas != 0 {
			t.Errorf("old replica set: %v, %v", rs, err)
		}

		// rollout undo: the old template comes back, its set becomes revision 3.
		setImage(t, c, ns, "web", "image:a")
		waitComplete(t, c, ns, "web", 3, "image:a")
		back := currentRS(t, c, ns, "web")
		if back.Name != first.Name || back.Annotations[deployment.RevisionAnnotation] != "3" ||
			back.Annotations[deployment.RevisionHistoryAnnotation] != "1" {
			t.Errorf("after undo: replica set %s, annotations %v", back.Name, back.Annotations)
		}
		got, _ := c.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
		if got.Annotations[deployment.RevisionAnnotation] != "3" {
			t.Errorf("deployment revision = %q, want 3", got.Annotations[deployment.RevisionAnnotation])
		}

		// Paused: a template change rolls nothing out until resumed.
		patch(t, c, ns, "web", `{"spec":{"paused":true}}`)
		waitDeployment(t, c, ns, "web", func(d *appsv1.Deployment) bool {
			cond := condition(d, appsv1.DeploymentProgressing)
			return cond != nil && cond.Reason == deployment.ReasonPaused
		})
		setImage(t, c, ns, "web", "image:c")
		time.Sleep(time.Second)
		if images := podImages(t.Context(), c, ns); !slices.Equal(images, []string{"image:a"}) {
			t.Errorf("paused deployment's pods run %v, want only image:a", images)
		}
		patch(t, c, ns, "web", `{"spec":{"paused":false}}`)
		waitComplete(t, c, ns, "web", 3, "image:c")

		// Scaling.
		patch(t, c, ns, "web", `{"spec":{"replicas":5}}`)
		waitComplete(t, c, ns, "web", 5, "image:c")

		// Settled: no more writes to the deployment or its replica sets.
		before := resourceVersions(t, c, ns)
		time.Sleep(2 * time.Second)
		if after := resourceVersions(t, c, ns); after != before {
			t.Errorf("settled objects still written: %s -> %s", before, after)
		}
	})

	t.Run("progress deadline", func(t *testing.T) {
		ns := "deploy-deadline"
		s.CreateNamespace(t, ns) // no readyPods: nothing ever becomes available
		d := testserver.Deployment(ns, "web", 1, "image:a")
		d.Spec.ProgressDeadlineSeconds = ptr.To[int32](1)
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitDeployment(t, c, ns, "web", func(d *appsv1.Deployment) bool {
			cond := condition(d, appsv1.DeploymentProgressing)
			return cond != nil && cond.Status == corev1.ConditionFalse && cond.Reason == deployment.ReasonTimedOut
		})
	})

	t.Run("revision history limit", func(t *testing.T) {
		ns := "deploy-history"
		s.CreateNamespace(t, ns)
		readyPods(t, c, ns)
		d := testserver.Deployment(ns, "web", 1, "image:a")
		d.Spec.RevisionHistoryLimit = ptr.To[int32](1)
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, image := range []string{"image:a", "image:b", "image:c", "image:d"} {
			setImage(t, c, ns, "web", image)
			waitComplete(t, c, ns, "web", 1, image)
		}
		waitFor(t, "old replica sets beyond the limit deleted", func(ctx context.Context) (bool, error) {
			sets, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
			if err != nil || len(sets.Items) != 2 {
				return false, err
			}
			var revs []string
			for _, rs := range sets.Items {
				revs = append(revs, rs.Annotations[deployment.RevisionAnnotation])
			}
			slices.Sort(revs)
			return slices.Equal(revs, []string{"3", "4"}), nil
		})
	})

	t.Run("recreate", func(t *testing.T) {
		ns := "deploy-recreate"
		s.CreateNamespace(t, ns)
		readyPods(t, c, ns)
		d := testserver.Deployment(ns, "web", 2, "image:a")
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitComplete(t, c, ns, "web", 2, "image:a")
		// Pods of both templates never run at once.
		mixed := atomic.Bool{}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			for ctx.Err() == nil {
				if images := podImages(ctx, c, ns); len(images) > 1 {
					mixed.Store(true)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		setImage(t, c, ns, "web", "image:b")
		waitComplete(t, c, ns, "web", 2, "image:b")
		cancel()
		if mixed.Load() {
			t.Error("old and new pods ran at the same time")
		}
	})

	t.Run("foreground deletion", func(t *testing.T) {
		ns := "deploy-delete"
		s.CreateNamespace(t, ns)
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), testserver.Deployment(ns, "web", 2, "image:a"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "pods", func(ctx context.Context) (bool, error) {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return err == nil && len(pods.Items) == 2, nil
		})
		err := c.AppsV1().Deployments(ns).Delete(t.Context(), "web", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "deployment, replica sets and pods gone", func(ctx context.Context) (bool, error) {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			sets, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			_, err = c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			return len(pods.Items) == 0 && len(sets.Items) == 0 && apierrors.IsNotFound(err), nil
		})
	})
}

// readyPods marks every pod of ns Running and Ready until the test ends.
func readyPods(t *testing.T, c kubernetes.Interface, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, p := range pods.Items {
					if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodRunning {
						continue
					}
					p.Status.Phase = corev1.PodRunning
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
					_, _ = c.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{})
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

// watchReady keeps in low the fewest Running pods of ns seen, until stop.
func watchReady(t *testing.T, c kubernetes.Interface, ns string, low *atomic.Int32) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				n := int32(0)
				for _, p := range pods.Items {
					if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
						n++
					}
				}
				if n < low.Load() {
					low.Store(n)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }
}

func podImages(ctx context.Context, c kubernetes.Interface, ns string) []string {
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var images []string
	for _, p := range pods.Items {
		if img := p.Spec.Containers[0].Image; !slices.Contains(images, img) {
			images = append(images, img)
		}
	}
	return images
}

func setImage(t *testing.T, c kubernetes.Interface, ns, name, image string) {
	t.Helper()
	patch(t, c, ns, name, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image))
}

func patch(t *testing.T, c kubernetes.Interface, ns, name, p string) {
	t.Helper()
	if _, err := c.AppsV1().Deployments(ns).Patch(t.Context(), name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitComplete waits until the deployment has rolled out image to n
// available replicas, as kubectl rollout status decides.
func waitComplete(t *testing.T, c kubernetes.Interface, ns, name string, n int32, image string) {
	t.Helper()
	waitDeployment(t, c, ns, name, func(d *appsv1.Deployment) bool {
		st := d.Status
		cond := condition(d, appsv1.DeploymentProgressing)
		return d.Spec.Template.Spec.Containers[0].Image == image && st.ObservedGeneration >= d.Generation &&
			st.UpdatedReplicas == n && st.Replicas == n && st.AvailableReplicas == n &&
			cond != nil && cond.Reason == deployment.ReasonNewRSAvailable
	})
}

func waitDeployment(t *testing.T, c kubernetes.Interface, ns, name string, cond func(*appsv1.Deployment) bool) {
	t.Helper()
	var last *appsv1.Deployment
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 45*time.Second, true, func(ctx context.Context) (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = d
		return cond(d), nil
	})
	if err != nil {
		t.Fatalf("deployment %s/%s never got there; last generation %d, status %+v", ns, name, last.Generation, last.Status)
	}
}

func currentRS(t *testing.T, c kubernetes.Interface, ns, name string) *appsv1.ReplicaSet {
	t.Helper()
	d, err := c.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sets, err := c.AppsV1().ReplicaSets(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, rs := range sets.Items {
		if rs.Spec.Template.Spec.Containers[0].Image == d.Spec.Template.Spec.Containers[0].Image {
			return &sets.Items[i]
		}
	}
	t.Fatalf("no replica set with the deployment's template")
	return nil
}

// resourceVersions lists the resource versions of the deployments and
// replica sets of ns, in one string.
func resourceVersions(t *testing.T, c kubernetes.Interface, ns string) string {
	t.Helper()
	ds, err := c.AppsV1().Deployments(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sets, err := c.AppsV1().ReplicaSets(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, d := range ds.Items {
		out += d.Name + "@" + d.ResourceVersion + " "
	}
	for _, rs := range sets.Items {
		out += rs.Name + "@" + rs.ResourceVersion + " "
	}
	return out
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func waitFor(t *testing.T, what string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 45*time.Second, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
