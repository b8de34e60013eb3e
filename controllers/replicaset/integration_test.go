package replicaset_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/controllers/replicaset"
)

// TestReplicaSets runs the controllers in a real server. No node agent runs,
// so pods stay Pending unless a test sets their status by hand.
func TestReplicaSets(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client

	t.Run("create, replace, ready, scale down", func(t *testing.T) {
		ns := "rs-scale"
		s.CreateNamespace(t, ns)
		rs := create(t, c, replicaSet(ns, "web", 3))
		pods := waitPods(t, c, ns, "app=web", 3)
		for _, p := range pods {
			ref := metav1.GetControllerOf(&p)
			want := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: rs.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
			if diff := cmp.Diff(&want, ref); diff != "" {
				t.Errorf("pod %s controller (-want +got):\n%s", p.Name, diff)
			}
		}
		waitRS(t, c, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.Replicas == 3 && rs.Status.FullyLabeledReplicas == 3 && rs.Status.ObservedGeneration == rs.Generation &&
				rs.Status.TerminatingReplicas != nil && *rs.Status.TerminatingReplicas == 0
		})

		// A deleted pod is replaced.
		deleted := pods[0].Name
		if err := c.CoreV1().Pods(ns).Delete(t.Context(), deleted, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "deleted pod replaced", func(ctx context.Context) (bool, error) {
			pods = waitPods(t, c, ns, "app=web", 3)
			return !slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.Name == deleted }), nil
		})

		// keep: ready, cost 10; cheap: ready, cost 0; unready: not ready, cost 100.
		setPod(t, c, &pods[0], true, "10")
		setPod(t, c, &pods[1], true, "0")
		setPod(t, c, &pods[2], false, "100")
		waitRS(t, c, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.ReadyReplicas == 2 && rs.Status.AvailableReplicas == 2
		})
		scale(t, c, ns, "web", 1)
		left := waitPods(t, c, ns, "app=web", 1)
		if left[0].Name != pods[0].Name {
			t.Errorf("scale-down kept %s, want %s (ready, highest deletion cost)", left[0].Name, pods[0].Name)
		}
		waitRS(t, c, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.Replicas == 1 && rs.Status.ReadyReplicas == 1 && rs.Status.ObservedGeneration == rs.Generation
		})

		// Settled: no more writes.
		before, err := c.AppsV1().ReplicaSets(ns).Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		after, err := c.AppsV1().ReplicaSets(ns).Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if before.ResourceVersion != after.ResourceVersion {
			t.Errorf("settled replica set still written: resourceVersion %s -> %s", before.ResourceVersion, after.ResourceVersion)
		}
	})

	t.Run("minReadySeconds", func(t *testing.T) {
		ns := "rs-minready"
		s.CreateNamespace(t, ns)
		rs := replicaSet(ns, "web", 2)
		rs.Spec.MinReadySeconds = 4
		create(t, c, rs)
		for _, p := range waitPods(t, c, ns, "app=web", 2) {
			setPod(t, c, &p, true, "0")
		}
		waitRS(t, c, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.ReadyReplicas == 2 && rs.Status.AvailableReplicas == 0
		})
		// Nothing changes when the pods become available: the controller
		// looks again by itself.
		waitRS(t, c, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.ReadyReplicas == 2 && rs.Status.AvailableReplicas == 2
		})
	})

	t.Run("adopt and release", func(t *testing.T) {
		ns := "rs-adopt"
		s.CreateNamespace(t, ns)
		orphan, err := c.CoreV1().Pods(ns).Create(t.Context(), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: map[string]string{"app": "web"}},
			Spec:       podSpec(),
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rs := create(t, c, replicaSet(ns, "web", 1))
		waitFor(t, "orphan adopted", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods(ns).Get(ctx, orphan.Name, metav1.GetOptions{})
			return err == nil && metav1.IsControlledBy(p, rs), nil
		})
		time.Sleep(500 * time.Millisecond)
		if pods := waitPods(t, c, ns, "app=web", 1); pods[0].Name != orphan.Name {
			t.Errorf("pods = %s, want only the adopted orphan", pods[0].Name)
		}

		// Relabelled out of the selector: released and replaced.
		patch := []byte(`{"metadata":{"labels":{"app":"other"}}}`)
		if _, err := c.CoreV1().Pods(ns).Patch(t.Context(), orphan.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "pod released", func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods(ns).Get(ctx, orphan.Name, metav1.GetOptions{})
			return err == nil && len(p.OwnerReferences) == 0, nil
		})
		if pods := waitPods(t, c, ns, "app=web", 1); pods[0].Name == orphan.Name {
			t.Error("released pod not replaced")
		}
	})

	t.Run("replica failure", func(t *testing.T) {
		ns := "rs-failure"
		s.CreateNamespace(t, ns)
		rs := replicaSet(ns, "web", 3)
		rs.Spec.Template.Spec.ServiceAccountName = "missing" // admission rejects the pods
		create(t, c, rs)
		waitRS(t, c, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			for _, cond := range rs.Status.Conditions {
				if cond.Type == appsv1.ReplicaSetReplicaFailure && cond.Status == corev1.ConditionTrue && cond.Reason == "FailedCreate" {
					return true
				}
			}
			return false
		})
		// Once the account exists the pods come and the condition goes.
		if _, err := c.CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "missing"}},
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRS(t, c, ns, "web", func(rs *appsv1.ReplicaSet) bool {
			return rs.Status.Replicas == 3 && len(rs.Status.Conditions) == 0
		})
	})

	t.Run("cascading deletion", func(t *testing.T) {
		ns := "rs-delete"
		s.CreateNamespace(t, ns)
		for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground} {
			create(t, c, replicaSet(ns, "web", 2))
			waitPods(t, c, ns, "app=web", 2)
			err := c.AppsV1().ReplicaSets(ns).Delete(t.Context(), "web", metav1.DeleteOptions{PropagationPolicy: &policy})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, string(policy)+" deletion of the pods and the set", func(ctx context.Context) (bool, error) {
				pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return false, err
				}
				_, err = c.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
				return len(pods.Items) == 0 && apierrors.IsNotFound(err), nil
			})
		}
	})

	t.Run("replication controller", func(t *testing.T) {
		ns := "rc"
		s.CreateNamespace(t, ns)
		rc, err := c.CoreV1().ReplicationControllers(ns).Create(t.Context(), &corev1.ReplicationController{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: corev1.ReplicationControllerSpec{
				Replicas: ptr.To[int32](2),
				Selector: map[string]string{"app": "web"},
				Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: podSpec()},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range waitPods(t, c, ns, "app=web", 2) {
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || ref.UID != rc.UID {
				t.Errorf("pod %s controller = %+v", p.Name, ref)
			}
		}
		waitFor(t, "rc status", func(ctx context.Context) (bool, error) {
			rc, err := c.CoreV1().ReplicationControllers(ns).Get(ctx, "web", metav1.GetOptions{})
			return err == nil && rc.Status.Replicas == 2 && rc.Status.ObservedGeneration == rc.Generation, nil
		})

		// A v1 ReplicationController deleted without a propagation policy
		// orphans its pods, as upstream.
		if err := c.CoreV1().ReplicationControllers(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "pods orphaned and the rc gone", func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ReplicationControllers(ns).Get(ctx, "web", metav1.GetOptions{})
			pods, lerr := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if lerr != nil || !apierrors.IsNotFound(err) {
				return false, lerr
			}
			orphans := 0
			for _, p := range pods.Items {
				if len(p.OwnerReferences) == 0 && p.DeletionTimestamp == nil {
					orphans++
				}
			}
			return orphans == 2, nil
		})
	})
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}
}

func replicaSet(ns, name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: podSpec()},
		},
	}
}

func create(t *testing.T, c kubernetes.Interface, rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	t.Helper()
	out, err := c.AppsV1().ReplicaSets(rs.Namespace).Create(t.Context(), rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func scale(t *testing.T, c kubernetes.Interface, ns, name string, replicas int32) {
	t.Helper()
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	if _, err := c.AppsV1().ReplicaSets(ns).Patch(t.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// setPod sets a pod's Ready condition and its deletion cost.
func setPod(t *testing.T, c kubernetes.Interface, p *corev1.Pod, ready bool, cost string) {
	t.Helper()
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, replicaset.DeletionCostAnnotation, cost)
	got, err := c.CoreV1().Pods(p.Namespace).Patch(t.Context(), p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	got.Status.Phase = corev1.PodRunning
	got.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.Now()}}
	if _, err := c.CoreV1().Pods(p.Namespace).UpdateStatus(t.Context(), got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitPods waits until exactly n active pods match selector and returns them.
func waitPods(t *testing.T, c kubernetes.Interface, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	waitFor(t, fmt.Sprintf("%d pods %s", n, selector), func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err
		}
		pods = slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
		return len(pods) == n, nil
	})
	return pods
}

func waitRS(t *testing.T, c kubernetes.Interface, ns, name string, cond func(*appsv1.ReplicaSet) bool) {
	t.Helper()
	var last *appsv1.ReplicaSet
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		rs, err := c.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = rs
		return cond(rs), nil
	})
	if err != nil {
		t.Fatalf("replica set %s/%s never got there; last status %+v", ns, name, last.Status)
	}
}

func waitFor(t *testing.T, what string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
