package volumebinding

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-helpers/storage/volume"
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

// claim is a 1Gi ReadWriteOnce claim; one that names a volume is bound
// (bind-completed) unless named "prebound".
func claim(name, vol, class string) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: vol, StorageClassName: &class,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}
	if vol != "" && name != "prebound" {
		pvc.Annotations = map[string]string{volume.AnnBindCompleted: "yes"}
	}
	return pvc
}

// pv is an Available ReadWriteOnce volume of size and class, only on node
// when node is set.
func pv(name, size, class, node string) *corev1.PersistentVolume {
	v := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		StorageClassName: class,
		Capacity:         corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
	}, Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable}}
	if node != "" {
		v.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
		}}}}
	}
	return v
}

func withClaims(names ...string) *corev1.Pod {
	p := ft.MakePod("p").Obj()
	for _, name := range names {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
	}
	return p
}

func wffc(name, provisioner string, zones ...string) *storagev1.StorageClass {
	c := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
	if len(zones) > 0 {
		c.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: "zone", Values: zones}}}}
	}
	return c
}

type fixture struct {
	claims, volumes cache.Indexer
	client          *fake.Clientset
	pl              *VolumeBinding
	nodes           []*framework.NodeInfo
}

func newFixture(objs ...runtime.Object) *fixture {
	f := &fixture{claims: indexer(), volumes: indexer()}
	classes := indexer(wffc("wffc", volume.NotSupportedProvisioner), wffc("dyn", "example.com/dyn", "a"))
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.PersistentVolumeClaim:
			_ = f.claims.Add(o)
		case *corev1.PersistentVolume:
			_ = f.volumes.Add(o)
		}
	}
	f.client = fake.NewClientset(objs...)
	f.pl = New(Listers{
		Claims:      corelisters.NewPersistentVolumeClaimLister(f.claims),
		Volumes:     corelisters.NewPersistentVolumeLister(f.volumes),
		Classes:     storagelisters.NewStorageClassLister(classes),
		Client:      f.client,
		BindTimeout: 5 * time.Second,
	})
	f.nodes = []*framework.NodeInfo{
		ft.NodeInfo(ft.MakeNode("n1").Label("zone", "a").Obj()),
		ft.NodeInfo(ft.MakeNode("n2").Label("zone", "b").Obj()),
	}
	return f
}

// TestVolumeBinding encodes upstream's rules: bound volumes' node affinity
// restricts nodes; unbound WaitForFirstConsumer claims need a fitting
// volume or a provisioner on the node; missing, deleted and unbound
// Immediate claims make the pod unschedulable everywhere.
func TestVolumeBinding(t *testing.T) {
	deleting := claim("deleting", "anywhere", "")
	deleting.DeletionTimestamp = &metav1.Time{}
	local := pv("local", "1Gi", "", "n1")
	local.Status.Phase = corev1.VolumeBound
	anywhere := pv("anywhere", "1Gi", "", "")
	anywhere.Status.Phase = corev1.VolumeBound
	f := newFixture(local, anywhere,
		claim("local", "local", ""), claim("anywhere", "anywhere", ""), claim("gone", "gone", ""), deleting,
		claim("unbound", "", "standard"), claim("prebound", "anywhere", ""),
		claim("later", "", "wffc"), claim("later2", "", "wffc"), claim("huge", "", "wffc"),
		claim("dynamic", "", "dyn"),
		pv("wffc-n2", "2Gi", "wffc", "n2"), pv("wffc-n2-small", "1Gi", "wffc", "n2"), pv("wffc-n1-small", "500Mi", "wffc", "n1"),
	)
	huge, _, _ := f.claims.GetByKey("default/huge")
	huge.(*corev1.PersistentVolumeClaim).Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("3Gi")
	tests := []struct {
		claims    []string
		preFilter string // a PreFilter rejection's message
		skip      bool
		want      map[string]string
	}{
		{claims: []string{"local"}, want: map[string]string{"n2": ErrReasonNodeConflict}},
		{claims: []string{"anywhere"}, skip: true},
		{claims: []string{"gone"}, want: map[string]string{"n1": ErrReasonPVNotExist, "n2": ErrReasonPVNotExist}},
		{claims: []string{"missing"}, preFilter: `persistentvolumeclaim "missing" not found`},
		{claims: []string{"deleting"}, preFilter: `persistentvolumeclaim "deleting" is being deleted`},
		{claims: []string{"unbound"}, preFilter: ErrReasonUnboundClaims},
		// Pre-bound by the user, not yet bound by the PV controller.
		{claims: []string{"prebound"}, preFilter: ErrReasonUnboundClaims},
		// Only n2 has a volume of the class that is large enough.
		{claims: []string{"later"}, want: map[string]string{"n1": ErrReasonBindConflict}},
		// Two claims need two volumes.
		{claims: []string{"later", "later2"}, want: map[string]string{"n1": ErrReasonBindConflict}},
		{claims: []string{"later", "later2", "huge"}, want: map[string]string{"n1": ErrReasonBindConflict, "n2": ErrReasonBindConflict}},
		// Provisioned where the class's allowed topologies admit.
		{claims: []string{"dynamic"}, want: map[string]string{"n2": ErrReasonBindConflict}},
		{claims: []string{"local", "later"}, want: map[string]string{"n1": ErrReasonBindConflict, "n2": ErrReasonNodeConflict}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.claims, ","), func(t *testing.T) {
			pod := withClaims(tt.claims...)
			state := framework.NewCycleState(framework.NewSnapshot(f.nodes...))
			st := f.pl.PreFilter(t.Context(), state, pod)
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
			for _, n := range f.nodes {
				if st := f.pl.Filter(t.Context(), state, pod, n); !st.IsSuccess() {
					got[n.Node().Name] = st.Message()
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rejections (-want +got):\n%s", diff)
			}
		})
	}
}

// cycle runs PreFilter and Reserve for pod on node.
func (f *fixture) cycle(t *testing.T, pod *corev1.Pod, node string) *framework.CycleState {
	t.Helper()
	state := framework.NewCycleState(framework.NewSnapshot(f.nodes...))
	if st := f.pl.PreFilter(t.Context(), state, pod); !st.IsSuccess() {
		t.Fatalf("PreFilter = %v %q", st.Code(), st.Message())
	}
	if st := f.pl.Reserve(t.Context(), state, pod, node); !st.IsSuccess() {
		t.Fatalf("Reserve = %v %q", st.Code(), st.Message())
	}
	return state
}

// TestBindVolume: Reserve keeps the chosen volume from another claim;
// PreBind writes its claimRef and returns once the PV controller has
// bound the claim; then the volume is free for matching again.
func TestBindVolume(t *testing.T) {
	f := newFixture(claim("a", "", "wffc"), claim("b", "", "wffc"), pv("only", "1Gi", "wffc", "n1"))
	podA := withClaims("a")
	state := f.cycle(t, podA, "n1")

	// While a's binding is under way, b finds no volume.
	other := framework.NewCycleState(framework.NewSnapshot(f.nodes...))
	podB := withClaims("b")
	f.pl.PreFilter(t.Context(), other, podB)
	if st := f.pl.Filter(t.Context(), other, podB, f.nodes[0]); st.Message() != ErrReasonBindConflict {
		t.Errorf("Filter of another claim on the reserved volume = %v %q", st.Code(), st.Message())
	}

	done := make(chan *framework.Status)
	go func() { done <- f.pl.PreBind(t.Context(), state, podA, "n1") }()
	// Play the PV controller once the scheduler has written the claimRef.
	var written *corev1.PersistentVolume
	for range 100 {
		v, err := f.client.CoreV1().PersistentVolumes().Get(t.Context(), "only", metav1.GetOptions{})
		if err == nil && v.Spec.ClaimRef != nil {
			written = v
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if written == nil || written.Spec.ClaimRef.UID != "uid-a" || !metav1.HasAnnotation(written.ObjectMeta, volume.AnnBoundByController) {
		t.Fatalf("volume as written: %+v", written)
	}
	select {
	case st := <-done:
		t.Fatalf("PreBind returned %v before the claim was bound", st)
	case <-time.After(200 * time.Millisecond):
	}
	_ = f.volumes.Update(written)
	_ = f.claims.Update(claim("a", "only", "wffc"))
	if st := <-done; !st.IsSuccess() {
		t.Fatalf("PreBind = %v %q", st.Code(), st.Message())
	}
	if len(f.pl.assumed) != 0 {
		t.Errorf("assumed volumes left after PreBind: %v", f.pl.assumed)
	}
}

// TestProvision: PreBind selects the node on a claim to provision and
// fails once the PV controller drops the annotation (provisioning
// failed); Unreserve after a failed binding frees reserved volumes.
func TestProvision(t *testing.T) {
	f := newFixture(claim("dynamic", "", "dyn"), claim("a", "", "wffc"), pv("only", "1Gi", "wffc", "n1"))
	pod := withClaims("dynamic")
	state := f.cycle(t, pod, "n1")
	done := make(chan *framework.Status)
	go func() { done <- f.pl.PreBind(t.Context(), state, pod, "n1") }()
	var written *corev1.PersistentVolumeClaim
	for range 100 {
		c, err := f.client.CoreV1().PersistentVolumeClaims("default").Get(t.Context(), "dynamic", metav1.GetOptions{})
		if err == nil && c.Annotations[volume.AnnSelectedNode] != "" {
			written = c
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if written == nil || written.Annotations[volume.AnnSelectedNode] != "n1" {
		t.Fatalf("claim as written: %+v", written)
	}
	_ = f.claims.Update(written)
	time.Sleep(200 * time.Millisecond)
	dropped := written.DeepCopy()
	delete(dropped.Annotations, volume.AnnSelectedNode)
	_ = f.claims.Update(dropped)
	if st := <-done; st.IsSuccess() || !strings.Contains(st.Message(), `provisioning failed for PVC "dynamic"`) {
		t.Errorf("PreBind = %v %q, want provisioning failed", st.Code(), st.Message())
	}

	podA := withClaims("a")
	stateA := f.cycle(t, podA, "n1")
	if f.pl.assumed["only"] != "default/a" {
		t.Errorf("assumed = %v", f.pl.assumed)
	}
	f.pl.Unreserve(t.Context(), stateA, podA, "n1")
	if len(f.pl.assumed) != 0 {
		t.Errorf("assumed after Unreserve = %v", f.pl.assumed)
	}
}
