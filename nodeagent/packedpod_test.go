package nodeagent

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// TestPackedPod: a packed pod decodes to the pod without its managedFields,
// its brief says what admission needs, packing it again changes nothing, and
// the informer's key and index functions read it.
func TestPackedPod(t *testing.T) {
	pod := benchPod("web-1", "sim-0001")
	pod.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate}}
	pod.Spec.Containers[0].Ports[0].HostPort = 8080
	pod.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("2")
	pod.Status.Phase = corev1.PodRunning
	// The API's times have whole seconds.
	pod.CreationTimestamp = metav1.NewTime(t0)
	pod.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0)
	want := pod.DeepCopy()
	want.ManagedFields = nil

	obj, err := packPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := obj.(*packedPod)
	if !ok {
		t.Fatalf("packPod returned %T", obj)
	}
	got, err := p.unpack()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
		t.Errorf("unpacked pod (-want +got):\n%s", diff)
	}
	if again, _ := p.unpack(); again == got {
		t.Error("unpack returned the same pod twice: callers would share it")
	}
	b := p.brief
	wantUsage := podUsage{cpuMilli: 10, memory: 16 << 20,
		extended:  corev1.ResourceList{"example.com/gpu": resource.MustParse("2")},
		hostPorts: []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}}
	if diff := cmp.Diff(wantUsage, b.usage, cmp.AllowUnexported(podUsage{}), cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if b.finished || !b.hasRun {
		t.Errorf("brief finished=%v hasRun=%v, want false, true (Running)", b.finished, b.hasRun)
	}
	if same, err := packPod(p); err != nil || same != p {
		t.Errorf("packing a packed pod: %v, %v; want it unchanged", same, err)
	}
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(p); err != nil || key != "default/web-1" {
		t.Errorf("key %q, %v; want default/web-1", key, err)
	}
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(cache.DeletedFinalStateUnknown{Key: "default/web-1", Obj: p}); err != nil || key != "default/web-1" {
		t.Errorf("tombstone key %q, %v", key, err)
	}
	if tomb, ok := packedOf(cache.DeletedFinalStateUnknown{Key: "default/web-1", Obj: p}); !ok || tomb != p {
		t.Error("packedOf(tombstone) did not find the packed pod")
	}
	if p.node != "sim-0001" || p.uid != pod.UID || p.resourceVersion != pod.ResourceVersion {
		t.Errorf("packed node %q uid %q rv %q", p.node, p.uid, p.resourceVersion)
	}
}
