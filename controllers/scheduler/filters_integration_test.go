package scheduler_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// Upstream's preemption parts of a FailedScheduling message for one node:
// a rejection removing pods cannot fix, and one it could but no pod of
// lower priority is there.
const (
	notHelpful = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	noVictims  = "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
)

// testNode is a node of a filter scenario: its allocatable (pairs of
// resource name and quantity; 4 cpu, 8Gi and 110 pods unless given) and
// what mutate sets (labels, taints, cordon).
type testNode struct {
	name   string
	res    []string
	mutate func(*corev1.Node)
}

// step is one pod of a filter scenario, created with a cpu request (100m
// unless cpu says otherwise) and mutate, which must then be bound to node
// or be unschedulable with exactly msg. A step with do only runs do.
type step struct {
	pod    string
	cpu    string
	mutate func(*corev1.Pod)
	node   string
	msg    string
	do     func(t *testing.T, s *testserver.Server)
}

func labelled(kv ...string) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Labels = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func tainted(key, value string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func podLabels(kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Labels = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func request(kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for i := 0; i < len(kv); i += 2 {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
	}
}

// initContainer adds an init container requesting cpu; a sidecar (restart
// policy Always) keeps running beside the app containers.
func initContainer(cpu string, sidecar bool) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		c := corev1.Container{Name: "init-" + string(rune('a'+len(p.Spec.InitContainers))), Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}
		if sidecar {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}

func tolerate(key string, effect corev1.TaintEffect) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect})
	}
}

func requiredNodeAffinity(key string, op corev1.NodeSelectorOperator, values ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}},
			}}},
		}}
	}
}

func hostPort(port int32, proto corev1.Protocol) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: port, Protocol: proto}}
	}
}

// podAffinity sets a required pod affinity (anti false) or anti-affinity
// term to pods labelled app=app in the domains of topologyKey.
func podAffinity(anti bool, app, topologyKey string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		term := []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			TopologyKey:   topologyKey,
		}}
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		if anti {
			p.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term}
		} else {
			p.Spec.Affinity.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term}
		}
	}
}

func onNodeNamed(node string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: node} }
}

func podWith(ms ...func(*corev1.Pod)) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for _, m := range ms {
			m(p)
		}
	}
}

// TestFilters runs each filter of the scheduler in a real server, one
// scenario at a time on nodes of its own: pods land where the filter lets
// them, and a pod it keeps off every node gets upstream's FailedScheduling
// message (the condition's and the event's) and, where the scenario says,
// is placed once the cluster changes so that it fits.
func TestFilters(t *testing.T) {
	s := testserver.Start(t)
	pods := s.Client.CoreV1().Pods("default")
	scenarios := []struct {
		name  string
		nodes []testNode
		setup func(t *testing.T, s *testserver.Server)
		steps []step
	}{{
		// TaintToleration: NoSchedule and NoExecute taints keep pods
		// without a toleration off; PreferNoSchedule only scores.
		name: "TaintToleration",
		nodes: []testNode{
			{name: "taint-noexecute", mutate: tainted("dedicated", "db", corev1.TaintEffectNoExecute)},
			{name: "taint-prefer", res: []string{"cpu", "1"}, mutate: tainted("soft", "x", corev1.TaintEffectPreferNoSchedule)},
		},
		steps: []step{
			{pod: "no-toleration", cpu: "2", msg: "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s). " +
				"preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."},
			{pod: "tolerates-noexecute", cpu: "2", mutate: tolerate("dedicated", corev1.TaintEffectNoExecute), node: "taint-noexecute"},
			{pod: "prefer-is-soft", node: "taint-prefer"},
		},
	}, {
		// NodeUnschedulable: a cordoned node takes only pods that tolerate
		// node.kubernetes.io/unschedulable.
		name:  "NodeUnschedulable",
		nodes: []testNode{{name: "cordoned", mutate: func(n *corev1.Node) { n.Spec.Unschedulable = true }}},
		steps: []step{
			{pod: "plain", msg: "0/1 nodes are available: 1 node(s) were unschedulable. " + notHelpful},
			{pod: "tolerates-cordon", mutate: tolerate(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule), node: "cordoned"},
		},
	}, {
		// NodeResourcesFit: memory, ephemeral storage and the pod count
		// count; init containers count alone (the largest), sidecars add
		// to the app containers, and so does a RuntimeClass's overhead.
		name:  "NodeResourcesFit",
		nodes: []testNode{{name: "res", res: []string{"cpu", "2", "memory", "2Gi", "ephemeral-storage", "1Gi", "pods", "3"}}},
		setup: func(t *testing.T, s *testserver.Server) {
			rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "with-overhead"}, Handler: "runc",
				Overhead: &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}
			if _, err := s.Client.NodeV1().RuntimeClasses().Create(t.Context(), rc, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		steps: []step{
			{pod: "memory", mutate: request("memory", "3Gi"), msg: "0/1 nodes are available: 1 Insufficient memory. " + notHelpful},
			{pod: "ephemeral", mutate: request("ephemeral-storage", "2Gi"), msg: "0/1 nodes are available: 1 Insufficient ephemeral-storage. " + notHelpful},
			{pod: "init-container", mutate: initContainer("3", false), msg: "0/1 nodes are available: 1 Insufficient cpu. " + notHelpful},
			{pod: "sidecar", cpu: "1500m", mutate: initContainer("1", true), msg: "0/1 nodes are available: 1 Insufficient cpu. " + notHelpful},
			{pod: "overhead", cpu: "1500m", mutate: func(p *corev1.Pod) { p.Spec.RuntimeClassName = ptr.To("with-overhead") },
				msg: "0/1 nodes are available: 1 Insufficient cpu. " + notHelpful},
			// max(1, 2, 2) = 2 cpus: the node's all.
			{pod: "init-max", cpu: "1", mutate: podWith(initContainer("2", false), initContainer("2", false)), node: "res"},
			{pod: "no-cpu-1", cpu: "0", node: "res"},
			{pod: "no-cpu-2", cpu: "0", node: "res"},
			{pod: "no-cpu-3", cpu: "0", msg: "0/1 nodes are available: 1 Too many pods. " + noVictims},
		},
	}, {
		// NodeAffinity: required node affinity and nodeSelector.
		name: "NodeAffinity",
		nodes: []testNode{
			{name: "disk-ssd", mutate: labelled("disk", "ssd")},
			{name: "disk-hdd", mutate: labelled("disk", "hdd")},
		},
		steps: []step{
			{pod: "affinity-ssd", mutate: requiredNodeAffinity("disk", corev1.NodeSelectorOpIn, "ssd"), node: "disk-ssd"},
			{pod: "affinity-not-ssd", mutate: requiredNodeAffinity("disk", corev1.NodeSelectorOpNotIn, "ssd"), node: "disk-hdd"},
			{pod: "selector-hdd", mutate: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "hdd"} }, node: "disk-hdd"},
			{pod: "affinity-nvme", mutate: requiredNodeAffinity("disk", corev1.NodeSelectorOpIn, "nvme"),
				msg: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. " +
					"preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."},
			{do: func(t *testing.T, s *testserver.Server) {
				createNodeWith(t, s, "disk-nvme", defaultRes(nil), labelled("disk", "nvme"))
			}},
			{pod: "affinity-nvme", node: "disk-nvme"},
		},
	}, {
		// spec.nodeName: a pod that names its node is no business of the
		// scheduler's, but counts on its node.
		name:  "NodeName",
		nodes: []testNode{{name: "named", res: []string{"cpu", "2"}}},
		steps: []step{
			{pod: "names-its-node", cpu: "1500m", mutate: func(p *corev1.Pod) { p.Spec.NodeName = "named" }, node: "named"},
			{pod: "after-named", cpu: "1", msg: "0/1 nodes are available: 1 Insufficient cpu. " + noVictims},
		},
	}, {
		// NodePorts: a host port is taken per protocol.
		name:  "NodePorts",
		nodes: []testNode{{name: "ports"}},
		steps: []step{
			{pod: "port-tcp", mutate: hostPort(8080, corev1.ProtocolTCP), node: "ports"},
			{pod: "port-udp", mutate: hostPort(8080, corev1.ProtocolUDP), node: "ports"},
			{pod: "port-tcp-again", mutate: hostPort(8080, corev1.ProtocolTCP),
				msg: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. " + noVictims},
			{do: func(t *testing.T, s *testserver.Server) { deletePod(t, s, "port-tcp") }},
			{pod: "port-tcp-again", node: "ports"},
		},
	}, {
		// InterPodAffinity: required affinity and anti-affinity of the
		// pod, and the anti-affinity of pods already placed.
		name: "InterPodAffinity",
		nodes: []testNode{
			{name: "pa-1", mutate: labelled(corev1.LabelHostname, "pa-1", corev1.LabelTopologyZone, "a")},
			{name: "pa-2", mutate: labelled(corev1.LabelHostname, "pa-2", corev1.LabelTopologyZone, "b")},
		},
		steps: []step{
			{pod: "db", mutate: podWith(podLabels("app", "db"), onNodeNamed("pa-1")), node: "pa-1"},
			{pod: "with-db", mutate: podAffinity(false, "db", corev1.LabelHostname), node: "pa-1"},
			{pod: "away-from-db", mutate: podAffinity(true, "db", corev1.LabelTopologyZone), node: "pa-2"},
			{pod: "with-cache", mutate: podAffinity(false, "cache", corev1.LabelHostname),
				msg: "0/2 nodes are available: 2 node(s) didn't match pod affinity rules. " +
					"preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."},
			{pod: "loner", mutate: podWith(podLabels("app", "loner"), onNodeNamed("pa-2"), podAffinity(true, "intruder", corev1.LabelHostname)), node: "pa-2"},
			{pod: "intruder", mutate: podWith(podLabels("app", "intruder"), onNodeNamed("pa-2")),
				msg: "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) didn't satisfy existing pods anti-affinity rules. " +
					"preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."},
			{do: func(t *testing.T, s *testserver.Server) { deletePod(t, s, "loner") }},
			{pod: "intruder", node: "pa-2"},
		},
	}, {
		// PodTopologySpread (DoNotSchedule): a tainted node's zone still
		// counts (nodeTaintsPolicy Ignore), so the second pod may not go
		// to zone a until the taint is gone and zone b takes it.
		name: "PodTopologySpread",
		nodes: []testNode{
			{name: "zone-a", mutate: labelled(corev1.LabelTopologyZone, "a")},
			{name: "zone-b", mutate: nodeWith(labelled(corev1.LabelTopologyZone, "b"), tainted("maintenance", "", corev1.TaintEffectNoSchedule))},
		},
		steps: []step{
			{pod: "spread-1", mutate: spreadByZone("spread"), node: "zone-a"},
			{pod: "spread-2", mutate: spreadByZone("spread"),
				msg: "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) had untolerated taint(s). " +
					"preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."},
			{do: func(t *testing.T, s *testserver.Server) { untaint(t, s, "zone-b") }},
			{pod: "spread-2", node: "zone-b"},
		},
	}, {
		// VolumeBinding: a claim bound to a volume with node affinity
		// keeps its pod to the volume's nodes.
		name:  "VolumeBinding",
		nodes: []testNode{{name: "vol-here", mutate: labelled(corev1.LabelHostname, "vol-here")}},
		setup: func(t *testing.T, s *testserver.Server) { localClaim(t, s, "pinned", "vol-there") },
		steps: []step{
			{pod: "uses-claim", mutate: withClaim("pinned"),
				msg: "0/1 nodes are available: 1 node(s) didn't match PersistentVolume's node affinity. " + notHelpful},
			{do: func(t *testing.T, s *testserver.Server) {
				createNodeWith(t, s, "vol-there", defaultRes(nil), labelled(corev1.LabelHostname, "vol-there"))
			}},
			{pod: "uses-claim", node: "vol-there"},
		},
	}}

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			created := map[string]bool{}
			t.Cleanup(func() {
				// Empty the cluster for the next scenario, whose messages
				// count all nodes.
				ctx := context.Background()
				for name := range created {
					_ = pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
				}
				nodes, err := s.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range nodes.Items {
					if err := s.Client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil {
						t.Error(err)
					}
				}
			})
			for _, n := range sc.nodes {
				createNodeWith(t, s, n.name, defaultRes(n.res), n.mutate)
			}
			if sc.setup != nil {
				sc.setup(t, s)
			}
			for _, st := range sc.steps {
				if st.do != nil {
					st.do(t, s)
					continue
				}
				if !created[st.pod] {
					created[st.pod] = true
					cpu := st.cpu
					if cpu == "" {
						cpu = "100m"
					}
					createPod(t, s, st.pod, cpu, func(p *corev1.Pod) {
						if st.mutate != nil {
							st.mutate(p)
						}
					})
				}
				if st.msg != "" {
					if got := unschedulable(t, s, st.pod); got != st.msg {
						t.Errorf("%s: condition message\n got %q\nwant %q", st.pod, got, st.msg)
					}
					if notes := eventNotes(t, s, st.pod, "FailedScheduling"); len(notes) == 0 || notes[0] != st.msg {
						t.Errorf("%s: FailedScheduling events %q\nwant %q", st.pod, notes, st.msg)
					}
					continue
				}
				if got := boundTo(t, s, st.pod); got != st.node {
					t.Errorf("%s bound to %s, want %s", st.pod, got, st.node)
				}
			}
		})
	}
}

// defaultRes is 4 cpu, 8Gi and 110 pods, overridden by pairs of resource
// name and quantity.
func defaultRes(kv []string) corev1.ResourceList {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	for i := 0; i < len(kv); i += 2 {
		res[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return res
}

func nodeWith(ms ...func(*corev1.Node)) func(*corev1.Node) {
	return func(n *corev1.Node) {
		for _, m := range ms {
			m(n)
		}
	}
}

func spreadByZone(app string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": app}
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
		}}
	}
}

func withClaim(claim string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
	}
}

func deletePod(t *testing.T, s *testserver.Server, name string) {
	t.Helper()
	if err := s.Client.CoreV1().Pods("default").Delete(t.Context(), name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
}

// untaint takes every taint off node.
func untaint(t *testing.T, s *testserver.Server, name string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := s.Client.CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = nil
		_, err = s.Client.CoreV1().Nodes().Update(t.Context(), n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// localClaim makes a local volume that only the node with hostname node
// reaches and a claim bound to it, and waits until the claim is bound
// (the volume controller completes the binding).
func localClaim(t *testing.T, s *testserver.Server, claim, node string) {
	t.Helper()
	ctx := t.Context()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: claim + "-volume"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disk"}},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
	if _, err := s.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: claim},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			VolumeName:       pv.Name,
			StorageClassName: ptr.To(""),
		},
	}
	if _, err := s.Client.CoreV1().PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		c, err := s.Client.CoreV1().PersistentVolumeClaims("default").Get(ctx, claim, metav1.GetOptions{})
		return err == nil && c.Status.Phase == corev1.ClaimBound, nil
	})
	if err != nil {
		t.Fatalf("claim %s not bound: %v", claim, err)
	}
}
