package nodeagent

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"

	nodert "github.com/kubelite/kubelite/nodeagent/runtime"
)

// fakeRuntime is a nodeRuntime.
type fakeRuntime struct {
	err    error
	images []nodert.Image
}

func (r fakeRuntime) ListImages(context.Context) ([]nodert.Image, error) {
	if r.err != nil {
		return nil, r.err
	}
	return r.images, nil
}

func (fakeRuntime) Type() string { return "fake" }
func (r fakeRuntime) Version(context.Context) (string, error) {
	if r.err != nil {
		return "", r.err
	}
	return "fake://1.0", nil
}

// newFakeClient returns a fake clientset that gives created Nodes a UID, as
// the API server does (unless a reactor before gave one).
func newFakeClient(objects ...runtime.Object) *fake.Clientset {
	c := fake.NewClientset(objects...)
	c.PrependReactor("create", "nodes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		n := a.(clienttesting.CreateAction).GetObject().(*corev1.Node)
		if n.UID == "" {
			n.UID = types.UID("uid-" + n.Name)
		}
		return false, nil, nil
	})
	return c
}

var t0 = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

func newTestStatus(t *testing.T, client *fake.Clientset, node NodeConfig, clk *testingclock.FakeClock, ready ...func(context.Context) error) *nodeStatus {
	t.Helper()
	s, err := newNodeStatus(nodeStatusConfig{
		Client: client, Node: node, Runtime: fakeRuntime{}, Ready: ready, Clock: clk,
		Jitter: func() float64 { return 0.5 }, // no random part: report every 5 minutes
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func q(s string) resource.Quantity { return resource.MustParse(s) }

// conditionSummary is what tests compare of a condition.
type conditionSummary struct {
	Type           corev1.NodeConditionType
	Status         corev1.ConditionStatus
	Reason         string
	Heartbeat, Had time.Time
}

func summarize(conds []corev1.NodeCondition) []conditionSummary {
	var out []conditionSummary
	for _, c := range conds {
		out = append(out, conditionSummary{c.Type, c.Status, c.Reason, c.LastHeartbeatTime.UTC(), c.LastTransitionTime.UTC()})
	}
	return out
}

func TestNodeRegisterCreates(t *testing.T) {
	readyAt := func(tm time.Time) []conditionSummary {
		return []conditionSummary{
			{corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", tm, tm},
			{corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", tm, tm},
			{corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", tm, tm},
			{corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", tm, tm},
		}
	}
	custom := NodeConfig{
		Name: "n1", Hostname: "host1", InstanceType: "m5.large", KubeletPort: 11250,
		Labels:          map[string]string{"zone": "a"},
		Capacity:        corev1.ResourceList{corev1.ResourceCPU: q("4"), corev1.ResourceMemory: q("8Gi"), corev1.ResourceEphemeralStorage: q("100Gi")},
		Reserved:        corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("10Gi")},
		InternalIPs:     []string{"192.0.2.7"},
		OperatingSystem: "linux", Architecture: "arm64", KernelVersion: "6.1.0", OSImage: "Debian",
	}
	tests := []struct {
		name            string
		node            NodeConfig
		wantLabels      map[string]string
		wantTaints      []corev1.Taint
		wantCIDRs       []string
		wantAllocatable corev1.ResourceList
		wantAddresses   []corev1.NodeAddress
		wantPort        int32
	}{{
		name: "simulated with taint",
		node: SimulatedNodeConfig("sim-7", 7, true),
		wantLabels: map[string]string{
			"kubernetes.io/hostname": "sim-7", "kubernetes.io/os": "linux", "beta.kubernetes.io/os": "linux",
			"kubernetes.io/arch": goruntime.GOARCH, "beta.kubernetes.io/arch": goruntime.GOARCH,
			LabelSimulated: "true",
		},
		wantTaints: []corev1.Taint{SimulatedTaint()},
		wantCIDRs:  []string{"10.128.7.0/24"},
		wantAllocatable: corev1.ResourceList{
			corev1.ResourceCPU: q("32"), corev1.ResourceMemory: q("256Gi"),
			corev1.ResourceEphemeralStorage: q("1Ti"), corev1.ResourcePods: q("110"),
		},
		wantAddresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "100.64.0.8"}, {Type: corev1.NodeHostName, Address: "sim-7"}},
		wantPort:      10250,
	}, {
		name: "reserved, instance type, own port",
		node: custom,
		wantLabels: map[string]string{
			"kubernetes.io/hostname": "host1", "kubernetes.io/os": "linux", "beta.kubernetes.io/os": "linux",
			"kubernetes.io/arch": "arm64", "beta.kubernetes.io/arch": "arm64",
			"node.kubernetes.io/instance-type": "m5.large", "zone": "a",
		},
		wantAllocatable: corev1.ResourceList{corev1.ResourceCPU: q("3500m"), corev1.ResourceMemory: q("0"), corev1.ResourceEphemeralStorage: q("100Gi"), corev1.ResourcePods: q("110")},
		wantAddresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.7"}, {Type: corev1.NodeHostName, Address: "host1"}},
		wantPort:        11250,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			clk := testingclock.NewFakeClock(t0)
			client := newFakeClient()
			s := newTestStatus(t, client, tc.node, clk)
			if err := s.register(ctx); err != nil {
				t.Fatal(err)
			}
			n, err := client.CoreV1().Nodes().Get(ctx, tc.node.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantLabels, n.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantTaints, n.Spec.Taints); diff != "" {
				t.Errorf("taints (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCIDRs, n.Spec.PodCIDRs); diff != "" {
				t.Errorf("pod CIDRs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAllocatable, n.Status.Allocatable, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("allocatable (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAddresses, n.Status.Addresses); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(readyAt(t0), summarize(n.Status.Conditions)); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if got := n.Status.DaemonEndpoints.KubeletEndpoint.Port; got != tc.wantPort {
				t.Errorf("kubelet port %d, want %d", got, tc.wantPort)
			}
			info := n.Status.NodeInfo
			if info.KubeletVersion != KubeletVersion || info.ContainerRuntimeVersion != "fake://1.0" || info.KubeProxyVersion != "" ||
				info.OperatingSystem != tc.wantLabels["kubernetes.io/os"] || info.Architecture != tc.wantLabels["kubernetes.io/arch"] {
				t.Errorf("nodeInfo %+v", info)
			}
			if n.Annotations[annotationControllerAttach] != "true" {
				t.Errorf("annotations %v", n.Annotations)
			}
			if s.node() == nil || s.node().UID == "" {
				t.Errorf("node() = %v, want the created node", s.node())
			}
		})
	}
}

func TestNodeRegisterExisting(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	userTaint := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	existing := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "sim-1", UID: "old-uid", Labels: map[string]string{
			"team": "blue", corev1.LabelHostname: "stale",
		}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{userTaint}},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{"example.com/gpu": q("2")},
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "RouteCreated"},
				{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown",
					LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))},
			},
		},
	}
	client := newFakeClient(existing)
	clk := testingclock.NewFakeClock(t0)
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-1", 1, true), clk)
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := client.CoreV1().Nodes().Get(ctx, "sim-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"team": "blue", corev1.LabelHostname: "sim-1", LabelSimulated: "true"} {
		if got := n.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if n.Annotations[annotationControllerAttach] != "true" {
		t.Errorf("annotations %v", n.Annotations)
	}
	if diff := cmp.Diff([]corev1.Taint{userTaint}, n.Spec.Taints); diff != "" {
		t.Errorf("taints changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.128.1.0/24"}, n.Spec.PodCIDRs); diff != "" {
		t.Errorf("pod CIDRs (-want +got):\n%s", diff)
	}
	if _, ok := n.Status.Capacity["example.com/gpu"]; !ok {
		t.Errorf("extended resource dropped from capacity: %v", n.Status.Capacity)
	}
	want := []conditionSummary{
		{corev1.NodeNetworkUnavailable, corev1.ConditionFalse, "RouteCreated", time.Time{}, time.Time{}},
		{corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", t0, t0},
		{corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", t0, t0},
		{corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", t0, t0},
		{corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", t0, t0},
	}
	if diff := cmp.Diff(want, summarize(n.Status.Conditions)); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
}

// countWrites counts status writes and node creations among client's actions.
func countWrites(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "nodes" && (a.GetVerb() == "create" || a.GetVerb() == "update" && a.GetSubresource() == "status") {
			n++
		}
	}
	return n
}

func TestNodeStatusReportFrequency(t *testing.T) {
	var healthErr error
	health := func(context.Context) error { return healthErr }
	steps := []struct {
		name       string
		advance    time.Duration
		healthErr  error
		wantWrites int // status writes so far, the creation included
	}{
		{"unchanged after 10s", 10 * time.Second, nil, 1},
		{"unchanged after 4m50s", 4*time.Minute + 40*time.Second, nil, 1},
		{"unchanged after 5m", 10 * time.Second, nil, 2},
		{"unchanged 10s later", 10 * time.Second, nil, 2},
		{"runtime fails", 10 * time.Second, errors.New("container runtime is down"), 3},
		{"still failing", 10 * time.Second, errors.New("container runtime is down"), 3},
		{"runtime back", 10 * time.Second, nil, 4},
	}
	_, ctx := ktesting.NewTestContext(t)
	clk := testingclock.NewFakeClock(t0)
	client := newFakeClient()
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-0", 0, false), clk, health)
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		clk.Step(st.advance)
		healthErr = st.healthErr
		if err := s.syncStatus(ctx); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := countWrites(client); got != st.wantWrites {
			t.Errorf("%s: %d writes, want %d", st.name, got, st.wantWrites)
		}
	}
}

func TestNodeReadyFollowsHealth(t *testing.T) {
	tests := []struct {
		name        string
		errs        []error
		wantStatus  corev1.ConditionStatus
		wantReason  string
		wantMessage string
		transition  bool
	}{
		{"healthy", nil, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status", false},
		{"runtime down", []error{errors.New("container runtime is down")}, corev1.ConditionFalse, "KubeletNotReady", "container runtime is down", true},
		{"runtime and network down", []error{errors.New("container runtime is down"), errors.New("network not ready")},
			corev1.ConditionFalse, "KubeletNotReady", "[container runtime is down, network not ready]", false},
		{"healthy again", nil, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status", true},
	}
	_, ctx := ktesting.NewTestContext(t)
	clk := testingclock.NewFakeClock(t0)
	client := newFakeClient()
	errs := make([]error, 2)
	checks := []func(context.Context) error{
		func(context.Context) error { return nil },
		func(context.Context) error { return errs[0] },
		func(context.Context) error { return errs[1] },
	}
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-0", 0, false), clk, checks...)
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	lastTransition := t0
	for _, tc := range tests {
		clk.Step(10 * time.Second)
		errs[0], errs[1] = nil, nil
		copy(errs, tc.errs)
		if err := s.syncStatus(ctx); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		n, _ := client.CoreV1().Nodes().Get(ctx, "sim-0", metav1.GetOptions{})
		c := findCondition(n, corev1.NodeReady)
		if c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.Message != tc.wantMessage {
			t.Errorf("%s: Ready %s %s %q, want %s %s %q", tc.name, c.Status, c.Reason, c.Message, tc.wantStatus, tc.wantReason, tc.wantMessage)
		}
		if tc.transition {
			lastTransition = clk.Now()
		}
		if !c.LastTransitionTime.Time.Equal(lastTransition) {
			t.Errorf("%s: lastTransitionTime %v, want %v", tc.name, c.LastTransitionTime, lastTransition)
		}
	}
}

func TestNodeMissingCapacityNotReady(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := newFakeClient()
	s := newTestStatus(t, client, NodeConfig{Name: "bare"}, testingclock.NewFakeClock(t0))
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	c := findCondition(s.node(), corev1.NodeReady)
	if want := "missing node capacity for resources: cpu, memory, ephemeral-storage"; c.Status != corev1.ConditionFalse || c.Message != want {
		t.Errorf("Ready %s %q, want False %q", c.Status, c.Message, want)
	}
}

// TestNodeObserve feeds the node status a Node as a watch would deliver it:
// node() shows a label a user added, and a Ready condition the node
// lifecycle controller set to Unknown is written back at the next sync.
func TestNodeObserve(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	clk := testingclock.NewFakeClock(t0)
	client := newFakeClient()
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-0", 0, false), clk)
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	watched := s.node().DeepCopy()
	watched.Labels["team"] = "blue"
	findCondition(watched, corev1.NodeReady).Status = corev1.ConditionUnknown
	s.observe(watched)
	s.observe(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "another"}})
	if got := s.node().Labels["team"]; got != "blue" {
		t.Errorf("node() label team = %q, want blue", got)
	}
	clk.Step(10 * time.Second)
	if err := s.syncStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countWrites(client); got != 2 {
		t.Errorf("%d writes, want the creation and one status write", got)
	}
	c := findCondition(s.node(), corev1.NodeReady)
	if c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(clk.Now()) {
		t.Errorf("Ready %s since %v, want True since %v", c.Status, c.LastTransitionTime, clk.Now())
	}
}

// TestNodeConditionEvents: as upstream's kubelet, the agent records an
// event for each condition a write changed: all four on registration, then
// NodeNotReady and NodeReady as health changes, nothing while it does not.
func TestNodeConditionEvents(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	clk := testingclock.NewFakeClock(t0)
	client := newFakeClient()
	var down error
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-0", 0, false), clk, func(context.Context) error { return down })
	var got []string
	s.cfg.Event = func(eventType, reason, message string) {
		if eventType != corev1.EventTypeNormal || message != "Node sim-0 status is now: "+reason {
			t.Errorf("event %s %s %q", eventType, reason, message)
		}
		got = append(got, reason)
	}
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		down error
		want []string
	}{
		{nil, nil},
		{errors.New("container runtime is down"), []string{"NodeNotReady"}},
		{errors.New("network not ready"), nil},
		{nil, []string{"NodeReady"}},
	}
	if want := []string{"NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"}; !cmp.Equal(got, want) {
		t.Fatalf("on registration: events %v, want %v", got, want)
	}
	for i, step := range steps {
		got, down = nil, step.down
		clk.Step(10 * time.Second)
		if err := s.syncStatus(ctx); err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(got, step.want, cmpopts.EquateEmpty()) {
			t.Errorf("step %d (%v): events %v, want %v", i, step.down, got, step.want)
		}
	}
}

// TestNodeImages checks status.images as upstream's kubelet reports it: the
// largest images first, at most 50, with at most 5 names each; a new image
// is a change written at the next period; a runtime that cannot list its
// images reports none.
func TestNodeImages(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	rt := &imageRuntime{}
	for i := range 60 {
		names := []string{fmt.Sprintf("example.com/img%d@sha256:%064d", i, i), fmt.Sprintf("example.com/img%d:v1", i)}
		if i == 59 {
			for j := range 5 {
				names = append(names, fmt.Sprintf("example.com/img59:extra%d", j))
			}
		}
		// Sizes not in order, so that the agent's order shows.
		rt.images = append(rt.images, nodert.Image{Names: names, Size: int64(1000 + (i*37)%60)})
	}
	client := newFakeClient()
	clk := testingclock.NewFakeClock(t0)
	s, err := newNodeStatus(nodeStatusConfig{Client: client, Node: SimulatedNodeConfig("sim-0", 0, false), Runtime: rt, Clock: clk,
		Jitter: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	get := func() []corev1.ContainerImage {
		n, err := client.CoreV1().Nodes().Get(ctx, "sim-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n.Status.Images
	}
	images := get()
	if len(images) != 50 {
		t.Fatalf("%d images, want 50", len(images))
	}
	for i, img := range images {
		if want := int64(1059 - i); img.SizeBytes != want {
			t.Errorf("image %d: size %d, want %d (largest first)", i, img.SizeBytes, want)
		}
		if len(img.Names) > 5 {
			t.Errorf("image %d: %d names, want at most 5", i, len(img.Names))
		}
	}
	// Size 1059 is image i with i*37%60 = 59: i = 47.
	if diff := cmp.Diff([]string{"example.com/img47@sha256:" + fmt.Sprintf("%064d", 47), "example.com/img47:v1"}, images[0].Names); diff != "" {
		t.Errorf("largest image's names (-want +got):\n%s", diff)
	}
	found := false
	for _, img := range images {
		if strings.HasPrefix(img.Names[0], "example.com/img59@") {
			found = true
			if diff := cmp.Diff([]string{"example.com/img59@sha256:" + fmt.Sprintf("%064d", 59), "example.com/img59:v1",
				"example.com/img59:extra0", "example.com/img59:extra1", "example.com/img59:extra2"}, img.Names); diff != "" {
				t.Errorf("names of an image with 7 (-want +got):\n%s", diff)
			}
		}
	}
	if !found {
		t.Error("image example.com/img59 (size 1023) not reported")
	}

	// A pulled image, the largest: written at the next period.
	rt.set(append(slices.Clone(rt.images), nodert.Image{Names: []string{"example.com/big:v1"}, Size: 1 << 30}), nil)
	clk.Step(10 * time.Second)
	if err := s.syncStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if images := get(); len(images) != 50 || images[0].Names[0] != "example.com/big:v1" {
		t.Errorf("after a pull: %d images, the first %v; want 50, example.com/big:v1", len(images), images[0].Names)
	}

	rt.set(nil, errors.New("runtime down"))
	clk.Step(10 * time.Second)
	if err := s.syncStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if images := get(); len(images) != 0 {
		t.Errorf("runtime failing: %d images, want none", len(images))
	}
}

// imageRuntime is a nodeRuntime whose images a test sets.
type imageRuntime struct {
	mu     sync.Mutex
	images []nodert.Image
	err    error
}

func (r *imageRuntime) set(images []nodert.Image, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.images, r.err = images, err
}

func (*imageRuntime) Type() string                            { return "fake" }
func (*imageRuntime) Version(context.Context) (string, error) { return "fake://1.0", nil }
func (r *imageRuntime) ListImages(context.Context) ([]nodert.Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.images, r.err
}

// TestNodeStatusFailedWriteNoReread checks that a status write that failed
// (the API server overloaded: 429, timeouts) is retried at the next
// heartbeat from the Node the agent keeps, without reading it first, as
// upstream's kubelet does; only a conflict reads it from the API server.
func TestNodeStatusFailedWriteNoReread(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	clk := testingclock.NewFakeClock(t0)
	client := newFakeClient()
	var health error
	s := newTestStatus(t, client, SimulatedNodeConfig("sim-0", 0, false), clk, func(context.Context) error { return health })
	if err := s.register(ctx); err != nil {
		t.Fatal(err)
	}
	fail := 1
	client.PrependReactor("update", "nodes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" && fail > 0 {
			fail--
			return true, nil, errors.New("the server is currently unable to handle the request")
		}
		return false, nil, nil
	})
	verbs := func() []string {
		var out []string
		for _, a := range client.Actions() {
			if a.GetResource().Resource == "nodes" {
				out = append(out, a.GetVerb())
			}
		}
		return out
	}
	// A change to write (the runtime fails): the write fails, then is
	// written at the next heartbeat with no read between.
	health = errors.New("container runtime is down")
	client.ClearActions()
	clk.Step(10 * time.Second)
	if err := s.syncStatus(ctx); err == nil {
		t.Fatal("first write: want the server's error")
	}
	clk.Step(10 * time.Second)
	if err := s.syncStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"update", "update"}, verbs()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	// A conflict still reads the Node again.
	client.ClearActions()
	client.PrependReactor("update", "nodes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" && fail == 0 {
			fail--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, "sim-0", errors.New("changed"))
		}
		return false, nil, nil
	})
	health = nil
	clk.Step(10 * time.Second)
	if err := s.syncStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"update", "get", "update"}, verbs()); diff != "" {
		t.Errorf("after a conflict, requests (-want +got):\n%s", diff)
	}
}
