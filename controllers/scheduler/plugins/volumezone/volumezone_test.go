package volumezone

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

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

// TestFilter: upstream's zone rules: a volume's zone (or "__"-joined
// zones) must be the node's, by the GA or beta label; nodes with no zone
// or region label pass.
func TestFilter(t *testing.T) {
	pv := func(name string, labels map[string]string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	claim := func(name, volume string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume}}
	}
	pl := New(Listers{
		Claims: corelisters.NewPersistentVolumeClaimLister(indexer(claim("a", "in-a"), claim("ab", "in-ab"), claim("beta", "beta-b"), claim("plain", "plain"))),
		Volumes: corelisters.NewPersistentVolumeLister(indexer(
			pv("in-a", map[string]string{corev1.LabelTopologyZone: "a"}),
			pv("in-ab", map[string]string{corev1.LabelTopologyZone: "a__b"}),
			pv("beta-b", map[string]string{corev1.LabelFailureDomainBetaZone: "b"}),
			pv("plain", nil))),
	})
	nodes := []*framework.NodeInfo{
		ft.NodeInfo(ft.MakeNode("za").Label(corev1.LabelTopologyZone, "a").Obj()),
		ft.NodeInfo(ft.MakeNode("zb").Label(corev1.LabelTopologyZone, "b").Obj()),
		ft.NodeInfo(ft.MakeNode("none").Obj()),
	}
	tests := []struct {
		claim string
		want  map[string]string
		skip  bool
	}{
		{claim: "a", want: map[string]string{"zb": ErrReason}},
		{claim: "ab", want: map[string]string{}},
		{claim: "beta", want: map[string]string{"za": ErrReason}},
		{claim: "plain", skip: true},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			pod := ft.MakePod("p").Obj()
			pod.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: tt.claim}}}}
			state := framework.NewCycleState(nil)
			if st := pl.PreFilter(t.Context(), state, pod); st.IsSkip() != tt.skip {
				t.Fatalf("PreFilter = %v", st.Code())
			}
			if tt.skip {
				return
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
