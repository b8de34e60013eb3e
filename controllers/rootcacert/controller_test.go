package rootcacert_test

import (
	"context"
	"maps"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/controllers/rootcacert"
)

// TestPublishesRootCA runs the publisher in a real server: every namespace
// gets kube-root-ca.crt holding the CA that signed the serving certificate;
// an edit of its data or annotation is put back, other labels are kept, and
// a deleted one comes back.
func TestPublishesRootCA(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	ca, err := os.ReadFile(s.Config.TLSClientConfig.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{rootcacert.Key: string(ca)}
	c := s.Client.CoreV1()

	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		waitFor(ctx, t, s.Client, ns, want)
	}
	if _, err := c.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := waitFor(ctx, t, s.Client, "team-a", want)
	if cm.Annotations[rootcacert.DescriptionAnnotation] == "" {
		t.Errorf("annotations = %v, want a %s", cm.Annotations, rootcacert.DescriptionAnnotation)
	}

	cm.Data = map[string]string{rootcacert.Key: "not a CA", "extra": "x"}
	cm.Labels = map[string]string{"mine": "yes"}
	delete(cm.Annotations, rootcacert.DescriptionAnnotation)
	if _, err := c.ConfigMaps("team-a").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm = waitFor(ctx, t, s.Client, "team-a", want)
	if cm.Labels["mine"] != "yes" || cm.Annotations[rootcacert.DescriptionAnnotation] == "" {
		t.Errorf("after reconcile labels = %v, annotations = %v; want the label kept and the description back", cm.Labels, cm.Annotations)
	}

	if err := c.ConfigMaps("team-a").Delete(ctx, rootcacert.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if again := waitFor(ctx, t, s.Client, "team-a", want); again.UID == cm.UID {
		t.Fatalf("config map not recreated after delete (same uid %s)", cm.UID)
	}
}

// waitFor waits until ns's root CA config map holds exactly want.
func waitFor(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string, want map[string]string) *corev1.ConfigMap {
	t.Helper()
	var cm *corev1.ConfigMap
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := client.CoreV1().ConfigMaps(ns).Get(ctx, rootcacert.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		cm = got
		return maps.Equal(got.Data, want), nil
	})
	if err != nil {
		t.Fatalf("%s/%s: data = %v, want %v: %v", ns, rootcacert.Name, cm, want, err)
	}
	return cm
}
