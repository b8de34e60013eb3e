package serviceaccount_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/controllers/serviceaccount"
)

// TestDefaultServiceAccount runs the controller in a real server: the
// system namespaces and a new one get "default", it comes back after a
// delete, and an edited one is left as the user made it.
func TestDefaultServiceAccount(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	c := s.Client.CoreV1()

	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		waitFor(ctx, t, s.Client, ns)
	}
	if _, err := c.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sa := waitFor(ctx, t, s.Client, "team-a")

	if err := c.ServiceAccounts("team-a").Delete(ctx, serviceaccount.DefaultName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := waitFor(ctx, t, s.Client, "team-a")
	if again.UID == sa.UID {
		t.Fatalf("default service account not recreated after delete (same uid %s)", sa.UID)
	}

	again.Labels = map[string]string{"edited": "yes"}
	if _, err := c.ServiceAccounts("team-a").Update(ctx, again, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	got, err := c.ServiceAccounts("team-a").Get(ctx, serviceaccount.DefaultName, metav1.GetOptions{})
	if err != nil || got.Labels["edited"] != "yes" || got.UID != again.UID {
		t.Fatalf("edited service account = %+v, %v; want it kept as edited", got, err)
	}
}

func waitFor(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) *corev1.ServiceAccount {
	t.Helper()
	var sa *corev1.ServiceAccount
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, serviceaccount.DefaultName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		sa = got
		return true, nil
	})
	if err != nil {
		t.Fatalf("no default service account in %s: %v", ns, err)
	}
	return sa
}
