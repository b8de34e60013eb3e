package nodevolumelimits

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	ft "github.com/kubelite/kubelite/controllers/scheduler/framework/frameworktest"
)

func indexer(objs ...any) cache.Indexer {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		_ = idx.Add(o)
	}
	return idx
}

func claim(name, vol, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: vol, StorageClassName: &class}}
}

func csiPV(name, driver, handle string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}}}}
}

func pod(name string, claims ...string) *corev1.Pod {
	p := ft.MakePod(name).Obj()
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return p
}

func csiNode(name string, limits map[string]int32) *storagev1.CSINode {
	n := &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for drv, count := range limits {
		n.Spec.Drivers = append(n.Spec.Drivers, storagev1.CSINodeDriver{Name: drv, NodeID: name,
			Allocatable: &storagev1.VolumeNodeResources{Count: ptr.To(count)}})
	}
	return n
}

// TestCSILimits: a node takes a pod only while each limited driver's
// distinct volumes, those of its pods and the new pod's, stay within the
// CSINode's count; a volume already on the node is not counted twice; an
// unbound claim counts for its class's provisioner; nodes without a
// CSINode and non-CSI volumes are not limited.
func TestCSILimits(t *testing.T) {
	pl := New(Listers{
		CSINodes: storagelisters.NewCSINodeLister(indexer(csiNode("full", map[string]int32{"ebs": 2}), csiNode("roomy", map[string]int32{"ebs": 3}),
			csiNode("other-driver", map[string]int32{"gce": 1}))),
		Claims: corelisters.NewPersistentVolumeClaimLister(indexer(
			claim("a", "pv-a", ""), claim("b", "pv-b", ""), claim("c", "pv-c", ""), claim("a-again", "pv-a2", ""),
			claim("unbound", "", "fast"), claim("host", "pv-host", ""))),
		Volumes: corelisters.NewPersistentVolumeLister(indexer(csiPV("pv-a", "ebs", "vol-a"), csiPV("pv-a2", "ebs", "vol-a"),
			csiPV("pv-b", "ebs", "vol-b"), csiPV("pv-c", "ebs", "vol-c"),
			&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-host"}, Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}}})),
		Classes: storagelisters.NewStorageClassLister(indexer(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "ebs"})),
	})
	node := func(name string, pods ...*corev1.Pod) *framework.NodeInfo {
		return ft.NodeInfo(ft.MakeNode(name).Obj(), pods...)
	}
	existing := pod("existing", "a", "b")
	nodes := []*framework.NodeInfo{node("full", existing), node("roomy", existing), node("other-driver", existing), node("no-csinode", existing)}
	tests := []struct {
		name string
		pod  *corev1.Pod
		skip bool
		want map[string]string
	}{
		{name: "third volume", pod: pod("p", "c"), want: map[string]string{"full": ErrReasonMaxVolumeCountExceeded}},
		{name: "same handle as an attached one", pod: pod("p", "a-again"), want: map[string]string{}},
		{name: "unbound claim of the driver's class", pod: pod("p", "unbound"), want: map[string]string{"full": ErrReasonMaxVolumeCountExceeded}},
		{name: "two new on roomy", pod: pod("p", "c", "unbound"), want: map[string]string{"full": ErrReasonMaxVolumeCountExceeded, "roomy": ErrReasonMaxVolumeCountExceeded}},
		{name: "not CSI", pod: pod("p", "host"), skip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := framework.NewCycleState(framework.NewSnapshot(nodes...))
			st := pl.PreFilter(t.Context(), state, tt.pod)
			if tt.skip {
				if !st.IsSkip() {
					t.Errorf("PreFilter = %v, want Skip", st.Code())
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("PreFilter = %v %q", st.Code(), st.Message())
			}
			got := map[string]string{}
			for _, n := range nodes {
				if st := pl.Filter(t.Context(), state, tt.pod, n); !st.IsSuccess() {
					if st.Code() != framework.Unschedulable {
						t.Errorf("%s: code %v, want Unschedulable", n.Node().Name, st.Code())
					}
					got[n.Node().Name] = st.Message()
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
}
