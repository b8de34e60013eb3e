package volumebinding

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

func claim(name, volume, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume, StorageClassName: &class}}
}

func withClaim(name string) *corev1.Pod {
	p := ft.MakePod("p").Obj()
	p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}}}
	return p
}

// TestVolumeBinding encodes upstream's rules for claims that need no
// driver: bound volumes' node affinity restricts nodes; missing, deleted
// and unbound Immediate claims make the pod unschedulable everywhere.
func TestVolumeBinding(t *testing.T) {
	local := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Spec: corev1.PersistentVolumeSpec{
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}},
		}}}}}}
	anywhere := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "anywhere"}}
	deleting := claim("deleting", "anywhere", "")
	deleting.DeletionTimestamp = &metav1.Time{}
	wffc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "wffc"}, VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
	pl := New(Listers{
		Claims: corelisters.NewPersistentVolumeClaimLister(indexer(
			claim("local", "local", ""), claim("anywhere", "anywhere", ""), claim("gone", "gone", ""), deleting,
			claim("unbound", "", "standard"), claim("later", "", "wffc"))),
		Volumes: corelisters.NewPersistentVolumeLister(indexer(local, anywhere)),
		Classes: storagelisters.NewStorageClassLister(indexer(wffc)),
	})
	nodes := []*framework.NodeInfo{ft.NodeInfo(ft.MakeNode("n1").Obj()), ft.NodeInfo(ft.MakeNode("n2").Obj())}
	tests := []struct {
		claim     string
		preFilter string // a PreFilter rejection's message
		skip      bool
		want      map[string]string
	}{
		{claim: "local", want: map[string]string{"n2": ErrReasonNodeConflict}},
		{claim: "anywhere", skip: true},
		{claim: "later", skip: true},
		{claim: "gone", want: map[string]string{"n1": ErrReasonPVNotExist, "n2": ErrReasonPVNotExist}},
		{claim: "missing", preFilter: `persistentvolumeclaim "missing" not found`},
		{claim: "deleting", preFilter: `persistentvolumeclaim "deleting" is being deleted`},
		{claim: "unbound", preFilter: ErrReasonUnboundClaims},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			pod := withClaim(tt.claim)
			state := framework.NewCycleState(framework.NewSnapshot(nodes...))
			st := pl.PreFilter(t.Context(), state, pod)
			switch {
			case tt.preFilter != "":
				if st.Code() != framework.UnschedulableAndUnresolvable || st.Message() != tt.preFilter {
					t.Errorf("PreFilter = %v %q, want %q", st.Code(), st.Message(), tt.preFilter)
				}
				return
			case tt.skip:
				if !st.IsSkip() {
					t.Errorf("PreFilter = %v, want Skip", st.Code())
				}
				return
			case !st.IsSuccess():
				t.Fatalf("PreFilter = %v %q", st.Code(), st.Message())
			}
			got := map[string]string{}
			for _, n := range nodes {
				if st := pl.Filter(t.Context(), state, pod, n); !st.IsSuccess() {
					got[n.Node().Name] = st.Message()
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
}
