package tainteviction

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// TestDeadline: a pod tolerating the taint for 10 s goes after 10 s, not
// before, with DisruptionTarget first; a later change of its node's taints
// keeps the deadline (upstream's timed queue does); a pod whose node loses the taint is spared, with a
// cancelling event.
func TestDeadline(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	clock := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	events := record.NewFakeRecorder(10)
	c, err := New(Config{Client: client, Pods: factory.Core().V1().Pods(), Nodes: factory.Core().V1().Nodes(), Events: events, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	setNode := func(name string, taints ...corev1.Taint) {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints}}
		if err := factory.Core().V1().Nodes().Informer().GetIndexer().Update(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"p", "q"} {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)},
			Spec: corev1.PodSpec{NodeName: "n-" + name, Tolerations: []corev1.Toleration{
				{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](10)},
				{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](2)},
			}},
		}
		if _, err := client.CoreV1().Pods("ns").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := factory.Core().V1().Pods().Informer().GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
		setNode("n-"+name, unreachable)
	}
	exists := func(name string) bool {
		_, err := client.CoreV1().Pods("ns").Get(ctx, name, metav1.GetOptions{})
		return !apierrors.IsNotFound(err)
	}
	sync := func(keys ...string) {
		for _, k := range keys {
			if err := c.sync(ctx, k); err != nil {
				t.Fatalf("sync %s: %v", k, err)
			}
		}
	}

	sync("ns/p", "ns/q")
	clock.Step(6 * time.Second)
	// A second taint on p's node, tolerated for 2 s, keeps p's deadline, as
	// upstream.
	setNode("n-p", unreachable, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute})
	setNode("n-q")
	sync("ns/p", "ns/q")
	clock.Step(3 * time.Second)
	sync("ns/p", "ns/q")
	if !exists("p") {
		t.Fatal("p deleted before its 10 s")
	}
	clock.Step(2 * time.Second)
	sync("ns/p", "ns/q")
	if exists("p") {
		t.Error("p not deleted 11 s after its node was tainted")
	}
	if !exists("q") {
		t.Error("q deleted although its node lost the taint")
	}
	var patched bool
	for _, a := range client.Actions() {
		patched = patched || (a.GetVerb() == "patch" && a.GetSubresource() == "status")
	}
	if !patched {
		t.Error("p was not given DisruptionTarget before deletion")
	}
	var reasons []string
	for len(events.Events) > 0 {
		reasons = append(reasons, <-events.Events)
	}
	want := map[string]bool{"Normal TaintManagerEviction Cancelling deletion of Pod ns/q": false, "Normal TaintManagerEviction Marking for deletion Pod ns/p": false}
	for _, r := range reasons {
		if _, ok := want[r]; ok {
			want[r] = true
		}
	}
	for e, seen := range want {
		if !seen {
			t.Errorf("no event %q; got %q", e, reasons)
		}
	}
}
