package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestAuditLog: with a policy and a log path, every request the policy
// selects is one event in the log, with upstream's fields.
func TestAuditLog(t *testing.T) {
	dir := t.TempDir()
	audit := testserver.AuditLog(t, dir, `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  userGroups: ["system:masters"]
  resources: [{group: "", resources: ["secrets"]}]
- level: RequestResponse
  resources: [{group: "", resources: ["configmaps"]}]
- level: Metadata
`)
	// The server makes the log's folder.
	audit.LogPath, audit.MaxSize = filepath.Join(dir, "audit", "audit.log"), 10
	s := testserver.StartWith(t, app.ServerConfig{DataDir: filepath.Join(dir, "data"), Audit: audit})
	ctx := context.Background()
	cms := s.Client.CoreV1().ConfigMaps("default")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "audited"}, Data: map[string]string{"k": "v"}}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "audited", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "audited", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unaudited"}}
	if _, err := s.Client.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// verb -> the events naming the config map (the secret's: none).
	var events map[string][]auditv1.Event
	var secrets int
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		events, secrets = map[string][]auditv1.Event{}, 0
		for _, e := range testserver.AuditEvents(t, audit.LogPath) {
			if e.ObjectRef == nil || e.ObjectRef.Namespace != "default" {
				continue
			}
			switch {
			case e.ObjectRef.Resource == "configmaps" && e.ObjectRef.Name == "audited":
				events[e.Verb] = append(events[e.Verb], e)
			case e.ObjectRef.Resource == "secrets" && e.ObjectRef.Name == "unaudited":
				secrets++
			}
		}
		return len(events["create"]) > 0 && len(events["get"]) > 0 && len(events["delete"]) > 0, nil
	})
	if err != nil {
		t.Fatalf("audit log lacks the requests' events: %v (got %d verbs)", err, len(events))
	}
	for _, verb := range []string{"create", "get", "delete"} {
		if len(events[verb]) != 1 {
			t.Errorf("%s: %d events, want 1", verb, len(events[verb]))
			continue
		}
		e := events[verb][0]
		if e.Stage != auditv1.StageResponseComplete || e.Level != auditv1.LevelRequestResponse || e.User.Username != "kubernetes-admin" ||
			e.ResponseStatus == nil || e.ResponseStatus.Code >= 300 || e.AuditID == "" || e.ResponseObject == nil {
			t.Errorf("%s event = %+v", verb, e)
		}
	}
	if secrets != 0 {
		t.Errorf("%d events for the secret the policy leaves out", secrets)
	}
}

// TestAuditWebhook: with --audit-webhook-config-file, events go to the
// webhook the kubeconfig names, as audit.k8s.io/v1 EventLists.
func TestAuditWebhook(t *testing.T) {
	dir := t.TempDir()
	audit := testserver.AuditLog(t, dir, `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources: [{group: "", resources: ["configmaps"]}]
- level: None
`)
	var mu sync.Mutex
	var got []auditv1.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var list auditv1.EventList
		if err := json.NewDecoder(r.Body).Decode(&list); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, list.Items...)
		mu.Unlock()
	}))
	defer hook.Close()
	kubeconfig := filepath.Join(dir, "webhook.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: hook, cluster: {server: "`+hook.URL+`"}}]
contexts: [{name: hook, context: {cluster: hook, user: ""}}]
current-context: hook
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testserver.StartWith(t, app.ServerConfig{DataDir: filepath.Join(dir, "data"),
		Audit: app.AuditConfig{PolicyFile: audit.PolicyFile, WebhookConfigFile: kubeconfig, WebhookMode: "blocking"}})
	ctx := t.Context()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hooked"}}
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range got {
			if e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Resource == "configmaps" && e.ObjectRef.Name == "hooked" {
				if e.Stage != auditv1.StageResponseComplete || e.Level != auditv1.LevelMetadata || e.User.Username != "kubernetes-admin" {
					t.Errorf("event = %+v", e)
				}
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("webhook got no event of the create: %v", err)
	}
}

// TestComponentsActAsThemselves: the in-process control plane writes as
// upstream's components do, each as its own user and none as
// system:masters: the deployment controller makes the ReplicaSet as its
// kube-system service account, the replica set controller the pods as its
// own, and the scheduler binds them as system:kube-scheduler. The audit log
// says who wrote.
func TestComponentsActAsThemselves(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["create"]
  namespaces: ["who"]
  resources: [{group: "", resources: ["pods", "pods/binding"]}, {group: apps, resources: ["replicasets"]}]
- level: None
`), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "audit.log")
	s := testserver.StartWith(t, app.ServerConfig{DataDir: filepath.Join(dir, "data"),
		Audit:     app.AuditConfig{PolicyFile: policy, LogPath: log},
		Simulated: app.SimulatedNodesConfig{Count: 1, Prefix: "who-"}})
	ctx := t.Context()
	s.CreateNamespace(t, "who")
	d := testserver.Deployment("who", "who", 1, "busybox")
	if _, err := s.Client.AppsV1().Deployments("who").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// resource (with subresource) -> the users that created one.
	want := map[string]string{
		"replicasets":  "system:serviceaccount:kube-system:deployment-controller",
		"pods":         "system:serviceaccount:kube-system:replicaset-controller",
		"pods/binding": "system:kube-scheduler",
	}
	var got map[string][]authenticationv1.UserInfo
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		got = map[string][]authenticationv1.UserInfo{}
		for _, e := range testserver.AuditEvents(t, log) {
			if e.ObjectRef == nil || e.Verb != "create" || e.ResponseStatus == nil || e.ResponseStatus.Code >= 300 {
				continue
			}
			r := e.ObjectRef.Resource
			if e.ObjectRef.Subresource != "" {
				r += "/" + e.ObjectRef.Subresource
			}
			got[r] = append(got[r], e.User)
		}
		return len(got) == len(want), nil
	})
	if err != nil {
		t.Fatalf("audit log lacks the components' writes: %v (got %v)", err, got)
	}
	for r, name := range want {
		for _, u := range got[r] {
			if u.Username != name || slices.Contains(u.Groups, "system:masters") {
				t.Errorf("create %s by %s %v, want %s (not system:masters)", r, u.Username, u.Groups, name)
			}
		}
	}
}
