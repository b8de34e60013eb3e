package daemonset_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestDaemonSets runs the DaemonSet controller in a real server with three
// simulated nodes and the scheduler. The subtests run one after another:
// they add and taint nodes, which every daemon set sees.
func TestDaemonSets(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{
		DataDir:   t.TempDir(),
		Simulated: app.SimulatedNodesConfig{Count: 3},
		// The pod garbage collector deletes the pods of a removed node.
		Controllers: app.ControllersConfig{PodGCQuarantine: time.Second},
	})
	c := s.Client
	sim := []string{"kubelite-sim-0000", "kubelite-sim-0001", "kubelite-sim-0002"}

	t.Run("a pod per node, taints, nodes added and removed", func(t *testing.T) {
		ns := "ds-basic"
		s.CreateNamespace(t, ns)
		// A node with a taint the daemon does not tolerate gets no pod; a
		// cordoned one does (daemons tolerate unschedulable).
		addNode(t, c, "tainted", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}
		})
		addNode(t, c, "cordoned", func(n *corev1.Node) { n.Spec.Unschedulable = true })
		create(t, c, newDaemonSet(ns, "x"))
		ds := waitDS(t, c, ns, "x", func(ds *appsv1.DaemonSet) bool {
			return ds.Status.NumberReady == 3 && ds.Status.DesiredNumberScheduled == 4 && ds.Status.CurrentNumberScheduled == 4
		})
		if st := ds.Status; st.UpdatedNumberScheduled != 4 || st.NumberAvailable != 3 || st.NumberUnavailable != 1 ||
			st.NumberMisscheduled != 0 || st.ObservedGeneration != ds.Generation {
			t.Errorf("status = %+v", st)
		}
		byNode := podsByNode(t, c, ns, "x")
		for _, n := range append(sim, "cordoned") {
			if len(byNode[n]) != 1 {
				t.Errorf("node %s has %d pods, want 1", n, len(byNode[n]))
			}
		}
		if len(byNode["tainted"]) != 0 {
			t.Errorf("the tainted node has pods %v", byNode["tainted"])
		}
		p := byNode[sim[0]][0]
		if !metav1.IsControlledBy(&p, ds) || p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == "" {
			t.Errorf("pod %s: owners %v labels %v", p.Name, p.OwnerReferences, p.Labels)
		}
		terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Key != "metadata.name" || terms[0].MatchFields[0].Values[0] != sim[0] {
			t.Errorf("pod %s node affinity %+v, want metadata.name In [%s]", p.Name, terms, sim[0])
		}
		for _, key := range []string{
			corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable, corev1.TaintNodeDiskPressure,
			corev1.TaintNodeMemoryPressure, corev1.TaintNodePIDPressure, corev1.TaintNodeUnschedulable,
		} {
			if !tolerates(p.Spec.Tolerations, key) {
				t.Errorf("pod %s does not tolerate %s", p.Name, key)
			}
		}
		if tolerates(p.Spec.Tolerations, corev1.TaintNodeNetworkUnavailable) {
			t.Errorf("pod %s (not host network) tolerates %s", p.Name, corev1.TaintNodeNetworkUnavailable)
		}
		waitEvent(t, c, ns, "SuccessfulCreate", "Created pod: x-")

		// A node added later gets a pod; a node removed loses it.
		addNode(t, c, "late", nil)
		poll(t, "a pod bound to the new node", func(ctx context.Context) (bool, error) {
			pods := podsByNode(t, c, ns, "x")["late"]
			return len(pods) == 1 && pods[0].Spec.NodeName == "late", nil
		})
		if err := c.CoreV1().Nodes().Delete(context.Background(), "late", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, "the removed node's pod to go", func(ctx context.Context) (bool, error) {
			return len(podsByNode(t, c, ns, "x")["late"]) == 0, nil
		})
		// Tainting a node NoExecute evicts its daemon pod.
		if _, err := c.CoreV1().Nodes().Patch(context.Background(), "cordoned", types.MergePatchType,
			[]byte(`{"spec":{"taints":[{"key":"evict","effect":"NoExecute"}]}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		// No agent runs there to finish the deletion: the pod stays
		// terminating, and counts as misscheduled until it is gone.
		waitDS(t, c, ns, "x", func(ds *appsv1.DaemonSet) bool {
			return ds.Status.DesiredNumberScheduled == 3 && ds.Status.NumberAvailable == 3 && ds.Status.NumberMisscheduled == 1
		})
		poll(t, "the evicted pod to be deleted", func(ctx context.Context) (bool, error) {
			pods := podsByNode(t, c, ns, "x")["cordoned"]
			return len(pods) == 1 && pods[0].DeletionTimestamp != nil, nil
		})
	})

	for _, tc := range []struct {
		name                 string
		maxSurge, maxUnavail intstr.IntOrString
		minReady             int
	}{
		{"rolling update, maxUnavailable 1", intstr.FromInt32(0), intstr.FromInt32(1), 2},
		{"rolling update, maxSurge 1", intstr.FromInt32(1), intstr.FromInt32(0), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "ds-roll-" + tc.maxSurge.String()
			s.CreateNamespace(t, ns)
			ds := newDaemonSet(ns, "roll")
			ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxSurge: &tc.maxSurge, MaxUnavailable: &tc.maxUnavail}
			create(t, c, ds)
			waitDS(t, c, ns, "roll", func(ds *appsv1.DaemonSet) bool { return ds.Status.NumberAvailable == 3 })

			var low atomic.Int32
			low.Store(3)
			stop := make(chan struct{})
			done := make(chan struct{})
			defer func() {
				select {
				case <-stop:
				default:
					close(stop)
				}
				<-done
			}()
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					byNode, err := listByNode(c, ns, "roll")
					if err != nil {
						continue
					}
					ready := 0
					for _, pods := range byNode {
						for _, p := range pods {
							if p.DeletionTimestamp == nil && isReady(&p) {
								ready++
								break
							}
						}
					}
					if int32(ready) < low.Load() {
						low.Store(int32(ready))
					}
				}
			}()
			patch(t, c, ns, "roll", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"app:v2"}]}}}}`)
			waitDS(t, c, ns, "roll", func(ds *appsv1.DaemonSet) bool {
				return ds.Status.ObservedGeneration == ds.Generation && ds.Status.UpdatedNumberScheduled == 3 &&
					ds.Status.NumberAvailable == 3 && ds.Status.CurrentNumberScheduled == 3
			})
			poll(t, "old pods to go", func(ctx context.Context) (bool, error) {
				n := 0
				for _, pods := range podsByNode(t, c, ns, "roll") {
					for _, p := range pods {
						if p.Spec.Containers[0].Image != "app:v2" {
							return false, nil
						}
						n++
					}
				}
				return n == 3, nil
			})
			close(stop)
			<-done
			if got := int(low.Load()); got < tc.minReady {
				t.Errorf("ready daemon pods fell to %d during the update, want at least %d", got, tc.minReady)
			}
			revs, err := c.AppsV1().ControllerRevisions(ns).List(context.Background(), metav1.ListOptions{})
			if err != nil || len(revs.Items) != 2 {
				t.Fatalf("revisions: %v, %d", err, len(revs.Items))
			}
			for _, r := range revs.Items {
				if !strings.HasPrefix(r.Name, "roll-") || r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != strings.TrimPrefix(r.Name, "roll-") {
					t.Errorf("revision %s labels %v", r.Name, r.Labels)
				}
			}
		})
	}

	t.Run("OnDelete", func(t *testing.T) {
		ns := "ds-ondelete"
		s.CreateNamespace(t, ns)
		ds := newDaemonSet(ns, "od")
		ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
		create(t, c, ds)
		waitDS(t, c, ns, "od", func(ds *appsv1.DaemonSet) bool { return ds.Status.NumberAvailable == 3 })
		patch(t, c, ns, "od", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"app:v2"}]}}}}`)
		waitDS(t, c, ns, "od", func(ds *appsv1.DaemonSet) bool {
			return ds.Status.ObservedGeneration == ds.Generation && ds.Status.UpdatedNumberScheduled == 0
		})
		time.Sleep(time.Second)
		victim := podsByNode(t, c, ns, "od")[sim[1]][0]
		if victim.Spec.Containers[0].Image != "app:v1" {
			t.Fatalf("OnDelete replaced %s before it was deleted", victim.Name)
		}
		if err := c.CoreV1().Pods(ns).Delete(context.Background(), victim.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitDS(t, c, ns, "od", func(ds *appsv1.DaemonSet) bool {
			return ds.Status.UpdatedNumberScheduled == 1 && ds.Status.NumberAvailable == 3
		})
		if p := podsByNode(t, c, ns, "od")[sim[1]]; len(p) != 1 || p[0].Spec.Containers[0].Image != "app:v2" {
			t.Errorf("node %s runs %v, want one app:v2 pod", sim[1], p)
		}
	})
}

func newDaemonSet(ns, name string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "app:v1"}}},
			},
		},
	}
}

// addNode registers a node no agent runs: pods are bound to it but never
// start.
func addNode(t *testing.T, c kubernetes.Interface, name string, change func(*corev1.Node)) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
	if change != nil {
		change(n)
	}
	ctx := context.Background()
	if _, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}) })
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	// The node lifecycle controller may write the node (taints) meanwhile.
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		got, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		got.Status.Capacity, got.Status.Allocatable = capacity, capacity
		_, err = c.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("node %s status: %v", name, err)
	}
}

func create(t *testing.T, c kubernetes.Interface, ds *appsv1.DaemonSet) {
	t.Helper()
	if _, err := c.AppsV1().DaemonSets(ds.Namespace).Create(context.Background(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create daemonset: %v", err)
	}
}

func patch(t *testing.T, c kubernetes.Interface, ns, name, p string) {
	t.Helper()
	if _, err := c.AppsV1().DaemonSets(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch daemonset: %v", err)
	}
}

func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func waitDS(t *testing.T, c kubernetes.Interface, ns, name string, ok func(*appsv1.DaemonSet) bool) *appsv1.DaemonSet {
	t.Helper()
	var got *appsv1.DaemonSet
	poll(t, "daemonset "+name, func(ctx context.Context) (bool, error) {
		var err error
		got, err = c.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && ok(got), nil
	})
	return got
}

// podsByNode lists a daemon set's pods (by its app label) by the node they
// are bound or pinned to.
func podsByNode(t *testing.T, c kubernetes.Interface, ns, name string) map[string][]corev1.Pod {
	t.Helper()
	out, err := listByNode(c, ns, name)
	if err != nil {
		t.Errorf("list pods: %v", err)
	}
	return out
}

func listByNode(c kubernetes.Interface, ns, name string) (map[string][]corev1.Pod, error) {
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return nil, err
	}
	out := map[string][]corev1.Pod{}
	for _, p := range pods.Items {
		node := p.Spec.NodeName
		if node == "" && p.Spec.Affinity != nil {
			node = p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields[0].Values[0]
		}
		out[node] = append(out[node], p)
	}
	return out, nil
}

func waitEvent(t *testing.T, c kubernetes.Interface, ns, reason, prefix string) {
	t.Helper()
	poll(t, "event "+prefix, func(ctx context.Context) (bool, error) {
		events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, e := range events.Items {
			if e.Reason == reason && strings.HasPrefix(e.Message, prefix) && e.InvolvedObject.Kind == "DaemonSet" {
				return true, nil
			}
		}
		return false, nil
	})
}

func tolerates(tols []corev1.Toleration, key string) bool {
	for _, t := range tols {
		if t.Key == key && t.Operator == corev1.TolerationOpExists {
			return true
		}
	}
	return false
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
