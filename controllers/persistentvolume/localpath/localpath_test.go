package localpath

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/storage/volume"
)

func node(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
}

// TestProvisioner: a volume on this machine's node gets its directory,
// which Delete removes; one on another node is only described; a claim
// without a node cannot be provisioned; Delete refuses paths outside Root.
func TestProvisioner(t *testing.T) {
	root := filepath.Join(t.TempDir(), "storage")
	p := &Provisioner{Root: root, LocalNode: "here"}
	for _, tt := range []struct {
		node    string
		makeDir bool
	}{{"here", true}, {"sim-0", false}} {
		name := "pvc-" + tt.node
		source, affinity, err := p.Provision(t.Context(), name, nil, node(tt.node))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, name)
		if source.HostPath == nil || source.HostPath.Path != dir || *source.HostPath.Type != corev1.HostPathDirectoryOrCreate {
			t.Errorf("%s: source %+v", tt.node, source)
		}
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: source, NodeAffinity: affinity}}
		if volume.CheckNodeAffinity(pv, node(tt.node).Labels) != nil || volume.CheckNodeAffinity(pv, node("other").Labels) == nil {
			t.Errorf("%s: affinity %+v does not admit only its node", tt.node, affinity)
		}
		if _, err := os.Stat(dir); (err == nil) != tt.makeDir {
			t.Errorf("%s: directory exists: %v, want %v", tt.node, err == nil, tt.makeDir)
		}
		if tt.makeDir {
			if err := os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Delete(t.Context(), pv); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s: directory left after Delete: %v", tt.node, err)
		}
	}
	if _, _, err := p.Provision(t.Context(), "pvc-x", nil, nil); err == nil {
		t.Error("Provision without a node succeeded")
	}
	outside := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-y"},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}}
	if err := p.Delete(t.Context(), outside); err == nil {
		t.Error("Delete of a path outside Root succeeded")
	}
}
