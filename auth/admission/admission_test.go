package admission

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestOrder: the chain holds upstream's plugins in upstream's order, each
// initialized.
func TestOrder(t *testing.T) {
	client := fake.NewClientset()
	stop := make(chan struct{})
	defer close(stop)
	chain, err := plugins(Config{Client: client, Informers: informers.NewSharedInformerFactory(client, 0), Drained: stop})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range chain {
		names = append(names, p.name)
	}
	want := []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection", "RuntimeClass", "ResourceQuota"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without a client and informers succeeded")
	}
}
