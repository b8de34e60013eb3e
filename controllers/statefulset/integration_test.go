package statefulset_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestStatefulSets runs the StatefulSet controller in a real server with
// three simulated nodes, the scheduler and the garbage collector.
func TestStatefulSets(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:   t.TempDir(),
		Simulated: app.SimulatedNodesConfig{Count: 3},
	})
	c := s.Client

	t.Run("ordered start, identity, scale down", func(t *testing.T) {
		t.Parallel()
		ns := "sts-ordered"
		s.CreateNamespace(t, ns)
		log := watchPods(t, c, ns)
		set := newSet(ns, "web", 3)
		// Each container takes a moment to start, so that a controller that
		// did not wait would create web-1 while web-0 is not ready.
		set.Spec.Template.Annotations = map[string]string{"container.sim.kubelite.io/main": "start=300ms"}
		create(t, c, set)
		got := waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool { return s.Status.ReadyReplicas == 3 })

		created := log.created()
		if diff := slices.Compare(created, []string{"web-0", "web-1", "web-2"}); diff != 0 {
			t.Errorf("pods created in order %v, want web-0, web-1, web-2", created)
		}
		for _, v := range log.violations() {
			t.Error(v)
		}
		if st := got.Status; st.Replicas != 3 || st.AvailableReplicas != 3 || st.CurrentReplicas != 3 || st.UpdatedReplicas != 3 ||
			st.CurrentRevision == "" || st.CurrentRevision != st.UpdateRevision || st.ObservedGeneration != got.Generation ||
			st.CollisionCount == nil {
			t.Errorf("status = %+v", st)
		}
		for i := range 3 {
			name := fmt.Sprintf("web-%d", i)
			p, err := c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"app": "web", appsv1.StatefulSetPodNameLabel: name, appsv1.PodIndexLabel: fmt.Sprint(i),
				appsv1.StatefulSetRevisionLabel: got.Status.UpdateRevision,
			}
			for k, v := range want {
				if p.Labels[k] != v {
					t.Errorf("%s: label %s = %q, want %q", name, k, p.Labels[k], v)
				}
			}
			if p.Spec.Hostname != name || p.Spec.Subdomain != "web" || !metav1.IsControlledBy(p, got) {
				t.Errorf("%s: hostname %q subdomain %q owners %v", name, p.Spec.Hostname, p.Spec.Subdomain, p.OwnerReferences)
			}
		}
		rev, err := c.AppsV1().ControllerRevisions(ns).Get(context.Background(), got.Status.UpdateRevision, metav1.GetOptions{})
		if err != nil || rev.Revision != 1 || !metav1.IsControlledBy(rev, got) {
			t.Errorf("revision %s: %v, %+v", got.Status.UpdateRevision, err, rev)
		}
		waitEvent(t, c, ns, "SuccessfulCreate", "Create Pod web-0 in StatefulSet web successful")

		scale(t, c, ns, "web", 1)
		waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool { return s.Status.Replicas == 1 && s.Status.ReadyReplicas == 1 })
		if diff := slices.Compare(log.deleted(), []string{"web-2", "web-1"}); diff != 0 {
			t.Errorf("pods deleted in order %v, want web-2, web-1", log.deleted())
		}
	})

	t.Run("rolling update with partition, rollback", func(t *testing.T) {
		t.Parallel()
		ns := "sts-update"
		s.CreateNamespace(t, ns)
		set := newSet(ns, "web", 3)
		set.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2)}
		create(t, c, set)
		before := waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool { return s.Status.ReadyReplicas == 3 })
		oldRev := before.Status.CurrentRevision

		patch(t, c, ns, "web", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"app:v2"}]}}}}`)
		got := waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool {
			return s.Status.UpdatedReplicas == 1 && s.Status.ReadyReplicas == 3 && s.Status.ObservedGeneration == s.Generation
		})
		newRev := got.Status.UpdateRevision
		if newRev == oldRev || got.Status.CurrentRevision != oldRev || got.Status.CurrentReplicas != 2 {
			t.Errorf("after the update: status %+v, old revision %s", got.Status, oldRev)
		}
		// Give a wrong controller time to touch the pods below the partition.
		time.Sleep(time.Second)
		wantImages(t, c, ns, map[string]string{"web-0": "app:v1", "web-1": "app:v1", "web-2": "app:v2"},
			map[string]string{"web-0": oldRev, "web-1": oldRev, "web-2": newRev})

		patch(t, c, ns, "web", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`)
		got = waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool {
			return s.Status.CurrentRevision == newRev && s.Status.UpdatedReplicas == 3 && s.Status.ReadyReplicas == 3
		})
		wantImages(t, c, ns, map[string]string{"web-0": "app:v2", "web-1": "app:v2", "web-2": "app:v2"},
			map[string]string{"web-0": newRev, "web-1": newRev, "web-2": newRev})

		// Going back to v1 reuses the first revision, renumbered 3.
		patch(t, c, ns, "web", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"app:v1"}]}}}}`)
		got = waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool {
			return s.Status.CurrentRevision == oldRev && s.Status.UpdatedReplicas == 3 && s.Status.ReadyReplicas == 3
		})
		revs, err := c.AppsV1().ControllerRevisions(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		numbers := map[string]int64{}
		for _, r := range revs.Items {
			numbers[r.Name] = r.Revision
		}
		if len(numbers) != 2 || numbers[oldRev] != 3 || numbers[newRev] != 2 {
			t.Errorf("revisions %v, want %s at 3 and %s at 2", numbers, oldRev, newRev)
		}
	})

	t.Run("parallel rolling update with maxUnavailable 2", func(t *testing.T) {
		t.Parallel()
		ns := "sts-unavailable"
		s.CreateNamespace(t, ns)
		set := newSet(ns, "web", 4)
		set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
		maxUnavailable := intstr.FromInt32(2)
		set.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: &maxUnavailable}
		// Replacements take a moment to start, so that the dip is seen.
		set.Spec.Template.Annotations = map[string]string{"container.sim.kubelite.io/main": "start=500ms"}
		create(t, c, set)
		waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool { return s.Status.ReadyReplicas == 4 })

		low := watchReadyLow(t, c, ns)
		patch(t, c, ns, "web", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"app:v2"}]}}}}`)
		waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool {
			return s.Status.ObservedGeneration == s.Generation && s.Status.UpdatedReplicas == 4 && s.Status.ReadyReplicas == 4 &&
				s.Status.CurrentRevision == s.Status.UpdateRevision
		})
		if n := low(); n != 2 {
			t.Errorf("ready pods fell to %d during the update, want 2 (4 replicas, maxUnavailable 2)", n)
		}
		wantImages(t, c, ns, map[string]string{"web-0": "app:v2", "web-1": "app:v2", "web-2": "app:v2", "web-3": "app:v2"}, nil)
	})

	t.Run("minReadySeconds", func(t *testing.T) {
		t.Parallel()
		ns := "sts-minready"
		s.CreateNamespace(t, ns)
		set := newSet(ns, "web", 2)
		set.Spec.MinReadySeconds = 3
		create(t, c, set)
		// The set becomes available with no outside event, by the
		// controller's own requeue.
		waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool { return s.Status.AvailableReplicas == 2 })
		// OrderedReady waits for web-0 to be available, not just ready,
		// before it creates web-1. The API's timestamps have whole seconds,
		// so allow one second less.
		web0, web1 := waitPod(t, c, ns, "web-0"), waitPod(t, c, ns, "web-1")
		var ready time.Time
		for _, cond := range web0.Status.Conditions {
			if cond.Type == corev1.PodReady {
				ready = cond.LastTransitionTime.Time
			}
		}
		if d := web1.CreationTimestamp.Sub(ready); d < 2*time.Second {
			t.Errorf("web-1 created %v after web-0 was ready, want about minReadySeconds (3s)", d)
		}
	})

	t.Run("claims per retention policy", func(t *testing.T) {
		t.Parallel()
		ns := "sts-claims"
		s.CreateNamespace(t, ns)
		// No volume binder runs here: the claims stay Pending and so do the
		// pods, which Parallel management does not wait for.
		set := newSet(ns, "db", 2)
		set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
		set.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}}
		set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
			WhenScaled:  appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		}
		created := create(t, c, set)
		for _, name := range []string{"data-db-0", "data-db-1"} {
			claim := waitClaim(t, c, ns, name, func(p *corev1.PersistentVolumeClaim) bool { return metav1.IsControlledBy(p, created) })
			if claim.Labels["app"] != "web" {
				t.Errorf("claim %s labels %v, want the selector's", name, claim.Labels)
			}
		}
		waitEvent(t, c, ns, "SuccessfulCreate", "Create Claim data-db-0 Pod db-0 in StatefulSet db success")
		p := waitPod(t, c, ns, "db-1")
		if v := p.Spec.Volumes[0]; v.Name != "data" || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "data-db-1" {
			t.Errorf("db-1 volumes %+v", p.Spec.Volumes)
		}

		// Scaling down hands data-db-1 to its pod, so it goes with it.
		scale(t, c, ns, "db", 1)
		waitGone(t, func(ctx context.Context) error {
			_, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-db-1", metav1.GetOptions{})
			return err
		})
		if _, err := c.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "data-db-0", metav1.GetOptions{}); err != nil {
			t.Errorf("data-db-0: %v", err)
		}
		// Scaling up again makes a new claim for the new db-1.
		scale(t, c, ns, "db", 2)
		waitClaim(t, c, ns, "data-db-1", func(p *corev1.PersistentVolumeClaim) bool { return metav1.IsControlledBy(p, created) })
		waitPod(t, c, ns, "db-1")
		// Deleting the set deletes the rest.
		if err := c.AppsV1().StatefulSets(ns).Delete(context.Background(), "db", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, func(ctx context.Context) error {
			_, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-db-0", metav1.GetOptions{})
			return err
		})

		// The default policy, Retain, leaves claims without owners.
		kept := newSet(ns, "kept", 1)
		kept.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
		kept.Spec.VolumeClaimTemplates = set.Spec.VolumeClaimTemplates
		create(t, c, kept)
		claim := waitClaim(t, c, ns, "data-kept-0", func(*corev1.PersistentVolumeClaim) bool { return true })
		time.Sleep(500 * time.Millisecond)
		if claim, _ = c.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "data-kept-0", metav1.GetOptions{}); len(claim.OwnerReferences) != 0 {
			t.Errorf("retained claim has owners %v", claim.OwnerReferences)
		}
	})

	t.Run("adoption and OnDelete", func(t *testing.T) {
		t.Parallel()
		ns := "sts-adopt"
		s.CreateNamespace(t, ns)
		orphan := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns, Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "app:v1"}}},
		}
		orphan, err := c.CoreV1().Pods(ns).Create(context.Background(), orphan, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		set := newSet(ns, "web", 2)
		set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		created := create(t, c, set)
		waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool { return s.Status.ReadyReplicas == 2 })
		p := waitPod(t, c, ns, "web-0")
		if p.UID != orphan.UID || !metav1.IsControlledBy(p, created) {
			t.Errorf("web-0 uid %s owners %v, want the orphan %s adopted", p.UID, p.OwnerReferences, orphan.UID)
		}

		// OnDelete: a template change replaces no pod until one is deleted.
		patch(t, c, ns, "web", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"app:v2"}]}}}}`)
		got := waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool {
			return s.Status.ObservedGeneration == s.Generation && s.Status.UpdateRevision != s.Status.CurrentRevision
		})
		time.Sleep(time.Second)
		wantImages(t, c, ns, map[string]string{"web-0": "app:v1", "web-1": "app:v1"}, nil)
		old := waitPod(t, c, ns, "web-1")
		if err := c.CoreV1().Pods(ns).Delete(context.Background(), "web-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitSet(t, c, ns, "web", func(s *appsv1.StatefulSet) bool { return s.Status.UpdatedReplicas == 1 && s.Status.ReadyReplicas == 2 })
		wantImages(t, c, ns, map[string]string{"web-0": "app:v1", "web-1": "app:v2"},
			map[string]string{"web-1": got.Status.UpdateRevision})
		if p := waitPod(t, c, ns, "web-1"); p.UID == old.UID {
			t.Error("web-1 was not recreated")
		}
	})
}

func newSet(ns, name string, replicas int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "app:v1"}}},
			},
		},
	}
}

func create(t *testing.T, c kubernetes.Interface, set *appsv1.StatefulSet) *appsv1.StatefulSet {
	t.Helper()
	got, err := c.AppsV1().StatefulSets(set.Namespace).Create(context.Background(), set, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create statefulset: %v", err)
	}
	return got
}

func patch(t *testing.T, c kubernetes.Interface, ns, name, p string) {
	t.Helper()
	if _, err := c.AppsV1().StatefulSets(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch statefulset: %v", err)
	}
}

func scale(t *testing.T, c kubernetes.Interface, ns, name string, n int) {
	patch(t, c, ns, name, fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
}

const timeout = time.Minute

func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func waitSet(t *testing.T, c kubernetes.Interface, ns, name string, ok func(*appsv1.StatefulSet) bool) *appsv1.StatefulSet {
	t.Helper()
	var got *appsv1.StatefulSet
	poll(t, "statefulset "+name, func(ctx context.Context) (bool, error) {
		var err error
		got, err = c.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && ok(got), nil
	})
	return got
}

func waitPod(t *testing.T, c kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	var got *corev1.Pod
	poll(t, "pod "+name, func(ctx context.Context) (bool, error) {
		var err error
		got, err = c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && got.DeletionTimestamp == nil, nil
	})
	return got
}

func waitClaim(t *testing.T, c kubernetes.Interface, ns, name string, ok func(*corev1.PersistentVolumeClaim) bool) *corev1.PersistentVolumeClaim {
	t.Helper()
	var got *corev1.PersistentVolumeClaim
	poll(t, "claim "+name, func(ctx context.Context) (bool, error) {
		var err error
		got, err = c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && ok(got), nil
	})
	return got
}

func waitGone(t *testing.T, get func(ctx context.Context) error) {
	t.Helper()
	poll(t, "deletion", func(ctx context.Context) (bool, error) { return get(ctx) != nil, nil })
}

func waitEvent(t *testing.T, c kubernetes.Interface, ns, reason, message string) {
	t.Helper()
	poll(t, "event "+message, func(ctx context.Context) (bool, error) {
		events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, e := range events.Items {
			if e.Reason == reason && e.Message == message && e.InvolvedObject.Kind == "StatefulSet" {
				return true, nil
			}
		}
		return false, nil
	})
}

// wantImages checks the image and, where given, revision label of pods.
func wantImages(t *testing.T, c kubernetes.Interface, ns string, images, revisions map[string]string) {
	t.Helper()
	for name, image := range images {
		p := waitPod(t, c, ns, name)
		if got := p.Spec.Containers[0].Image; got != image {
			t.Errorf("%s runs %s, want %s", name, got, image)
		}
		if rev, ok := revisions[name]; ok && p.Labels[appsv1.StatefulSetRevisionLabel] != rev {
			t.Errorf("%s at revision %s, want %s", name, p.Labels[appsv1.StatefulSetRevisionLabel], rev)
		}
	}
}

// podLog follows a namespace's pods: the order they were created and
// deleted in, and each creation of web-N while web-(N-1) was not ready.
type podLog struct {
	mu         sync.Mutex
	ready      map[string]bool
	order, del []string
	bad        []string
}

func watchPods(t *testing.T, c kubernetes.Interface, ns string) *podLog {
	t.Helper()
	w, err := c.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	l := &podLog{ready: map[string]bool{}}
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			l.mu.Lock()
			switch {
			case ev.Type == watch.Added:
				l.order = append(l.order, p.Name)
				var n int
				if _, err := fmt.Sscanf(p.Name, "web-%d", &n); err == nil && n > 0 && !l.ready[fmt.Sprintf("web-%d", n-1)] {
					l.bad = append(l.bad, fmt.Sprintf("%s created while web-%d was not ready", p.Name, n-1))
				}
			case ev.Type == watch.Deleted || p.DeletionTimestamp != nil:
				if !slices.Contains(l.del, p.Name) {
					l.del = append(l.del, p.Name)
				}
			}
			l.ready[p.Name] = p.DeletionTimestamp == nil && ev.Type != watch.Deleted && isReady(p)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *podLog) created() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.order)
}

func (l *podLog) deleted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.del)
}

func (l *podLog) violations() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.bad)
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// watchReadyLow follows the ready, undeleted pods of a namespace and
// returns a function that reports the fewest seen at once.
func watchReadyLow(t *testing.T, c kubernetes.Interface, ns string) func() int {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := map[string]bool{}
	for _, p := range list.Items {
		ready[p.Name] = p.DeletionTimestamp == nil && isReady(&p)
	}
	w, err := c.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	var mu sync.Mutex
	low := -1
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			ready[p.Name] = ev.Type != watch.Deleted && p.DeletionTimestamp == nil && isReady(p)
			n := 0
			for _, r := range ready {
				if r {
					n++
				}
			}
			if low < 0 || n < low {
				low = n
			}
			mu.Unlock()
		}
	}()
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return low
	}
}
