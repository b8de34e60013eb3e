package app

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// Informers that others add to the factory after the API server started do
// not count in its readiness: a controller's informer whose list never
// answers leaves /readyz's informer-sync check passing.
func TestReadinessCountsOnlyTheServersInformers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset()
	blocked := make(chan struct{})
	defer close(blocked)
	client.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		<-blocked
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	factory.Core().V1().Namespaces().Informer() // the server's own, e.g. admission's
	readiness := &startedInformers{SharedInformerFactory: factory}
	readiness.Start(ctx.Done())
	if synced := readiness.WaitForCacheSync(ctx.Done()); !reflect.DeepEqual(synced, map[reflect.Type]bool{reflect.TypeOf(&corev1.Namespace{}): true}) {
		t.Fatalf("server's informers: %v", synced)
	}

	// A controller's informer, started later, whose first list hangs.
	factory.Core().V1().ConfigMaps().Informer()
	factory.Start(ctx.Done())
	closed := make(chan struct{})
	close(closed)
	if synced := readiness.WaitForCacheSync(closed); len(synced) != 1 || !synced[reflect.TypeOf(&corev1.Namespace{})] {
		t.Errorf("readiness sees %v, want only the synced namespaces informer", synced)
	}
	if all := factory.WaitForCacheSync(closed); len(all) != 2 || all[reflect.TypeOf(&corev1.ConfigMap{})] {
		t.Errorf("the factory itself should list the unsynced config map informer too: %v", all)
	}
}

// The garbage collector watches a resource through the factory's typed
// informer when the process already runs one (here: roles, as the RBAC
// authorizer does), and with a metadata informer of its own otherwise.
func TestGarbageCollectorReusesStartedInformers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	roles := factory.Rbac().V1().Roles().Informer()
	factory.Start(ctx.Done())
	shared := typedInformers(factory)
	if got := shared(rbacv1.SchemeGroupVersion.WithResource("roles")); got == nil || got.GetStore() != roles.GetStore() {
		t.Errorf("roles: %v, want the started shared informer", got)
	}
	if got := shared(rbacv1.SchemeGroupVersion.WithResource("rolebindings")); got != nil {
		t.Errorf("rolebindings, which nothing watches: %v, want none (a metadata informer)", got)
	}
	if got := shared(corev1.SchemeGroupVersion.WithResource("pods")); got == nil {
		t.Error("pods, a controller resource: no shared informer")
	}
	closed := make(chan struct{})
	close(closed)
	if _, started := factory.WaitForCacheSync(closed)[reflect.TypeOf(&rbacv1.RoleBinding{})]; started {
		t.Error("asking started a role binding informer")
	}
}
