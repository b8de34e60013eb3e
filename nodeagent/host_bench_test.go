package nodeagent

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// BenchmarkHostPodMemory measures what a Host of simulated nodes keeps in
// memory per running pod: its pod cache, the agents' pod states and the
// simulated runtimes' containers. It runs the host twice against a fake
// clientset, once without pods and once with KUBELITE_HOST_PODS_PER_NODE
// (default 110) Running and Ready pods on each of KUBELITE_HOST_NODES
// (default 100) nodes, and counts each time the heap that stopping the host
// frees; the difference per pod is heap-B/pod. The pods are as the API
// server makes a Deployment's: labels, owner, defaults, the service account
// token volume.
func BenchmarkHostPodMemory(b *testing.B) {
	nodes, perNode := envInt(b, "KUBELITE_HOST_NODES", 100), envInt(b, "KUBELITE_HOST_PODS_PER_NODE", 110)
	for b.Loop() {
		empty := hostHeap(b, nodes, 0)
		full := hostHeap(b, nodes, perNode)
		pods := float64(nodes * perNode)
		b.ReportMetric((full-empty)/pods, "heap-B/pod")
		b.ReportMetric(empty/float64(nodes), "heap-B/node")
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

// hostHeap runs a host of nodes with perNode pods each until all are Ready
// and returns the heap bytes that stopping it freed.
func hostHeap(b *testing.B, nodes, perNode int) float64 {
	b.Helper()
	var objs []apiruntime.Object
	for n := range nodes {
		for i := range perNode {
			objs = append(objs, benchPod(fmt.Sprintf("web-%d-%d", n, i), fmt.Sprintf("sim-%04d", n)))
		}
	}
	client := bigWatchClient(objs...)
	objs = nil
	cfgs := make([]Config, nodes)
	for i := range cfgs {
		node := SimulatedNodeConfig(fmt.Sprintf("sim-%04d", i), i, false)
		rt, err := simulated.New(simulated.Config{PodCIDRs: node.PodCIDRs})
		if err != nil {
			b.Fatal(err)
		}
		cfgs[i] = Config{Node: node, Client: client, Runtime: rt}
	}
	host, err := NewHost(client, cfgs)
	if err != nil {
		b.Fatal(err)
	}
	cfgs = nil
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- host.Run(ctx) }()
	start := time.Now()
	deadline := start.Add(10 * time.Minute)
	for {
		list, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ready := 0
		for i := range list.Items {
			if podReady(&list.Items[i]) {
				ready++
			}
		}
		nodeList, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if ready == nodes*perNode && len(nodeList.Items) == nodes {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d pods Ready, %d of %d nodes", ready, nodes*perNode, len(nodeList.Items), nodes)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Logf("%d nodes, %d pods Ready after %v", nodes, nodes*perNode, time.Since(start).Round(time.Millisecond))
	// Let the last status writes come back through the watch.
	time.Sleep(2 * time.Second)
	held := memStats()
	if path := os.Getenv("KUBELITE_HOST_HEAP_PROFILE"); path != "" && perNode > 0 {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	host = nil
	freed := memStats()
	goruntime.KeepAlive(client)
	return float64(held.HeapAlloc) - float64(freed.HeapAlloc)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// benchPod is a pod as the API server stores a Deployment's.
func benchPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: name, GenerateName: "web-7d4b9c8f5-",
			UID:             types.UID(fmt.Sprintf("0b6a2f4e-%04x-4c1e-9a57-%012x", len(name), hashName(name))),
			ResourceVersion: "1",
			Labels:          map[string]string{"app": "web", "pod-template-hash": "7d4b9c8f5"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d4b9c8f5",
				UID: "5d2f0c1a-3b7e-4f8a-9c6d-2e1f0a9b8c7d", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
			CreationTimestamp: metav1.Now(),
		},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "nginx", Image: "nginx:1.27",
				Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}},
				VolumeMounts:             []corev1.VolumeMount{{Name: "kube-api-access-x7k2p", ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}},
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				ImagePullPolicy:          corev1.PullIfNotPresent,
			}},
			Volumes: []corev1.Volume{{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](3607), Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
						Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace",
						FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
				},
				DefaultMode: ptr.To[int32](420),
			}}}},
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			DNSPolicy:                     corev1.DNSClusterFirst,
			ServiceAccountName:            "default",
			DeprecatedServiceAccount:      "default",
			SecurityContext:               &corev1.PodSecurityContext{},
			SchedulerName:                 corev1.DefaultSchedulerName,
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
			},
			Priority:           ptr.To[int32](0),
			EnableServiceLinks: ptr.To(true),
			PreemptionPolicy:   ptr.To(corev1.PreemptLowerPriority),
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}},
	}
}

func hashName(s string) uint64 { return nameHash(s) & (1<<48 - 1) }

// bigWatchClient is a fake clientset whose watches buffer any number of
// events: the tracker's own watchers hold 100 and panic when full, which
// thousands of pods' status writes overrun. (NewClientset, which tracks
// managed fields, is 20 times slower here.) Its watches see creates and
// updates, not deletes.
func bigWatchClient(objs ...apiruntime.Object) *fake.Clientset {
	client := fake.NewSimpleClientset(objs...) //nolint:staticcheck // see above
	react := clienttesting.ObjectReaction(client.Tracker())
	var mu sync.Mutex
	type watcher struct {
		ns string
		ch chan watch.Event
	}
	watchers := map[string][]watcher{}
	client.PrependReactor("*", "*", func(action clienttesting.Action) (bool, apiruntime.Object, error) {
		handled, obj, err := react(action)
		var typ watch.EventType
		switch action.GetVerb() {
		case "create":
			typ = watch.Added
		case "update", "patch":
			typ = watch.Modified
		}
		if err != nil || obj == nil || typ == "" {
			return handled, obj, err
		}
		mu.Lock()
		for _, w := range watchers[action.GetResource().Resource] {
			if w.ns == "" || w.ns == action.GetNamespace() {
				w.ch <- watch.Event{Type: typ, Object: obj.DeepCopyObject()}
			}
		}
		mu.Unlock()
		return handled, obj, err
	})
	client.PrependWatchReactor("*", func(action clienttesting.Action) (bool, watch.Interface, error) {
		w := watcher{ns: action.GetNamespace(), ch: make(chan watch.Event, 1<<16)}
		mu.Lock()
		watchers[action.GetResource().Resource] = append(watchers[action.GetResource().Resource], w)
		mu.Unlock()
		return true, watch.NewProxyWatcher(w.ch), nil
	})
	return client
}
