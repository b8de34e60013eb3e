package nodetoken_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/auth/nodetoken"
	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestSimulatedNodesActAsThemselves: each simulated node registers, renews
// its Lease, reports its pods' status and records their events as
// system:node:<name> (the audit log says who wrote), and its token gets exactly a node's rights: its own
// objects, not another node's, as the Node authorizer and NodeRestriction
// decide.
func TestSimulatedNodesActAsThemselves(t *testing.T) {
	dir := t.TempDir()
	audit := testserver.AuditLog(t, dir, `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources: [{group: "", resources: ["nodes", "nodes/status", "pods/status", "events"]}, {group: coordination.k8s.io, resources: ["leases"]}]
- level: None
`)
	s := testserver.StartWith(t, app.ServerConfig{DataDir: filepath.Join(dir, "data"),
		Audit:     audit,
		Simulated: app.SimulatedNodesConfig{Count: 2, Prefix: "sim-"}})
	ctx := t.Context()
	const node0, node1 = "sim-0000", "sim-0001"
	s.CreateNamespace(t, "idn")
	pods := s.Client.CoreV1().Pods("idn")
	for _, node := range []string{node0, node1} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-" + node},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, node := range []string{node0, node1} {
			p, err := pods.Get(ctx, "on-"+node, metav1.GetOptions{})
			if err != nil || p.Status.Phase != corev1.PodRunning {
				return false, nil
			}
			if _, err := s.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node, metav1.GetOptions{}); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("pods not Running or nodes without Lease: %v", err)
	}

	// Who wrote node0's Node, Lease and pod status.
	want := map[string]bool{"create nodes": false, "create leases": false, "status pods": false, "create events": false}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		for _, e := range testserver.AuditEvents(t, audit.LogPath) {
			if e.ObjectRef == nil || e.Stage != auditv1.StageResponseComplete {
				continue
			}
			var key string
			switch r := e.ObjectRef; {
			case e.Verb == "create" && r.Resource == "nodes" && r.Name == node0:
				key = "create nodes"
			case e.Verb == "create" && r.Resource == "leases" && r.Name == node0:
				key = "create leases"
			case r.Resource == "pods" && r.Subresource == "status" && r.Name == "on-"+node0:
				key = "status pods"
			case e.Verb == "create" && r.Resource == "events" && r.Namespace == "idn" && strings.HasPrefix(r.Name, "on-"+node0+"."):
				key = "create events"
			default:
				continue
			}
			if e.User.Username != "system:node:"+node0 || !slices.Contains(e.User.Groups, "system:nodes") {
				t.Errorf("%s %s/%s by %q %v, want system:node:%s in system:nodes", e.Verb, e.ObjectRef.Resource, e.ObjectRef.Name, e.User.Username, e.User.Groups, node0)
			}
			want[key] = true
		}
		return !slices.Contains(mapValues(want), false), nil
	})
	if err != nil {
		t.Fatalf("audit events of %s seen: %v: %v", node0, want, err)
	}

	// node0's token: a node's rights, its own objects only.
	secret, err := s.Client.CoreV1().Secrets("kube-system").Get(ctx, nodetoken.SecretPrefix+node0, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if secret.Type != nodetoken.SecretType {
		t.Fatalf("node token secret type %q", secret.Type)
	}
	token := nodetoken.SecretPrefix + node0 + "." + string(secret.Data[nodetoken.SecretKey])
	as := func(token string) kubernetes.Interface {
		cfg := rest.AnonymousClientConfig(s.Config)
		cfg.BearerToken = token
		return kubernetes.NewForConfigOrDie(cfg)
	}
	node := as(token)
	review, err := node.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := review.Status.UserInfo; u.Username != "system:node:"+node0 || !slices.Contains(u.Groups, "system:nodes") || !slices.Contains(u.Groups, "system:authenticated") {
		t.Errorf("node token authenticates as %q %v", u.Username, u.Groups)
	}
	if _, err := as(token+"x").CoreV1().Nodes().Get(ctx, node0, metav1.GetOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("wrong node token: want 401, got %v", err)
	}

	leases := node.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	own, err := leases.Get(ctx, node0, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Update(ctx, own, metav1.UpdateOptions{}); err != nil {
		t.Errorf("update own lease: %v", err)
	}
	if _, err := leases.Get(ctx, node1, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get %s's lease: want 403, got %v", node1, err)
	}
	other, err := s.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node1, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Update(ctx, other, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("update %s's lease: want 403, got %v", node1, err)
	}
	if _, err := node.CoreV1().Nodes().Patch(ctx, node0, types.MergePatchType, []byte(`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"}]}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Errorf("patch own node status: %v", err)
	}
	if _, err := node.CoreV1().Nodes().Patch(ctx, node1, types.MergePatchType, []byte(`{"status":{"conditions":[{"type":"Ready","status":"False"}]}}`), metav1.PatchOptions{}, "status"); !apierrors.IsForbidden(err) {
		t.Errorf("patch %s's status: want 403, got %v", node1, err)
	}
	if _, err := node.CoreV1().Nodes().Patch(ctx, node0, types.MergePatchType, []byte(`{"metadata":{"labels":{"node-restriction.kubernetes.io/pool":"a"}}}`), metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("label own node node-restriction.kubernetes.io/pool: want 403, got %v", err)
	}
	if _, err := node.CoreV1().Pods("idn").Get(ctx, "on-"+node0, metav1.GetOptions{}); err != nil {
		t.Errorf("get own pod: %v", err)
	}
	if _, err := node.CoreV1().Pods("idn").Get(ctx, "on-"+node1, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get %s's pod: want 403, got %v", node1, err)
	}
	otherPod, err := s.Client.CoreV1().Pods("idn").Get(ctx, "on-"+node1, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.CoreV1().Pods("idn").UpdateStatus(ctx, otherPod, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("update %s's pod status: want 403, got %v", node1, err)
	}
	if _, err := node.CoreV1().Secrets("kube-system").Get(ctx, nodetoken.SecretPrefix+node1, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get %s's token secret: want 403, got %v", node1, err)
	}
}

func mapValues(m map[string]bool) []bool {
	var out []bool
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestSharedIdentity: with SharedIdentity the simulated nodes register as
// the host, with no node token made.
func TestSharedIdentity(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(),
		Simulated: app.SimulatedNodesConfig{Count: 1, Prefix: "shared-", SharedIdentity: true}})
	ctx := t.Context()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := s.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "shared-0000", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("node shared-0000 has no Lease: %v", err)
	}
	if _, err := s.Client.CoreV1().Secrets("kube-system").Get(ctx, nodetoken.SecretPrefix+"shared-0000", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node token secret with a shared identity: want NotFound, got %v", err)
	}
}
