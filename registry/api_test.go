package registry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestProtocolEdges covers the wire: protobuf, watch-list bookmarks, compaction,
// size limits, malformed bodies, strict field validation and apply conflicts.
func TestProtocolEdges(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	raw := func(method, path, contentType, body string) (int, string) {
		t.Helper()
		req := s.Client.CoreV1().RESTClient().Verb(method).SetHeader("Content-Type", contentType).Body([]byte(body))
		if p, q, ok := strings.Cut(path, "?"); ok {
			k, v, _ := strings.Cut(q, "=")
			req = req.AbsPath(p).Param(k, v)
		} else {
			req = req.AbsPath(path)
		}
		res := req.Do(ctx)
		var code int
		res.StatusCode(&code)
		b, _ := res.Raw()
		return code, string(b)
	}

	t.Run("protobuf client", func(t *testing.T) {
		cfg := rest.CopyConfig(s.Config)
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf"
		c := kubernetes.NewForConfigOrDie(cfg)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "proto"}, Data: map[string]string{"a": "b"}}
		if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := c.CoreV1().ConfigMaps("default").Get(ctx, "proto", metav1.GetOptions{})
		if err != nil || got.Data["a"] != "b" {
			t.Fatalf("protobuf round trip: %v %v", got, err)
		}
		body, err := c.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/default/configmaps/proto").
			SetHeader("Accept", "application/vnd.kubernetes.protobuf").DoRaw(ctx)
		if err != nil || !strings.HasPrefix(string(body), "k8s\x00") {
			t.Fatalf("want a protobuf envelope, got %q, %v", body[:min(len(body), 16)], err)
		}
	})

	t.Run("yaml", func(t *testing.T) {
		body, err := s.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/kube-system").
			SetHeader("Accept", "application/yaml").DoRaw(ctx)
		if err != nil || !strings.Contains(string(body), "kind: Namespace\n") || !strings.Contains(string(body), "name: kube-system\n") {
			t.Fatalf("yaml: %s %v", body, err)
		}
		code, out := raw("POST", "/api/v1/namespaces/default/configmaps", "application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n")
		if code != http.StatusCreated {
			t.Fatalf("create from yaml: %d %s", code, out)
		}
	})

	t.Run("watch list ends its initial events with a bookmark", func(t *testing.T) {
		for _, n := range []string{"wl-a", "wl-b"} {
			if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"wl": "yes"}}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		w, err := s.Client.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{
			LabelSelector: "wl=yes", SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true,
			ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		var added int
		for {
			select {
			case ev := <-w.ResultChan():
				switch ev.Type {
				case watch.Added:
					added++
				case watch.Bookmark:
					m, _ := ev.Object.(metav1.Object)
					if m == nil || m.GetAnnotations()[metav1.InitialEventsAnnotationKey] != "true" {
						t.Fatalf("bookmark without the initial-events-end annotation: %#v", ev.Object)
					}
					if added != 2 {
						t.Fatalf("bookmark after %d initial events, want 2", added)
					}
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no bookmark after %d events", added)
			}
		}
	})

	t.Run("oversized requests get 413", func(t *testing.T) {
		big := strings.Repeat("x", 4<<20)
		code, _ := raw("POST", "/api/v1/namespaces/default/configmaps", "application/json",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"`+big+`"}}`)
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("4 MiB body: status %d, want 413", code)
		}
		tooMuchData := strings.Repeat("y", 1<<20+10)
		_, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fat"}, Data: map[string]string{"k": tooMuchData}}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Fatalf("configmap over 1 MiB: want 422, got %v", err)
		}
	})

	t.Run("malformed bodies get 400", func(t *testing.T) {
		for _, body := range []string{`{"apiVersion":"v1","kind":"ConfigMap",`, `not json at all`, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":7}}`} {
			code, out := raw("POST", "/api/v1/namespaces/default/configmaps", "application/json", body)
			if code != http.StatusBadRequest {
				t.Errorf("body %q: status %d (%s), want 400", body, code, out)
			}
		}
		code, _ := raw("POST", "/api/v1/namespaces/default/configmaps", "application/vnd.kubernetes.protobuf", "k8s\x00garbage")
		if code != http.StatusBadRequest && code != http.StatusUnsupportedMediaType {
			t.Errorf("garbage protobuf: status %d, want 400", code)
		}
	})

	t.Run("strict field validation rejects unknown fields", func(t *testing.T) {
		body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict"},"bogus":1}`
		code, out := raw("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "application/json", body)
		if code != http.StatusBadRequest || !strings.Contains(out, `unknown field \"bogus\"`) {
			t.Fatalf("strict: status %d: %s", code, out)
		}
		var st metav1.Status
		_ = json.Unmarshal([]byte(out), &st)
		if st.Reason != metav1.StatusReasonBadRequest {
			t.Errorf("reason %q, want BadRequest", st.Reason)
		}
		if code, out := raw("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", "application/json", body); code != http.StatusCreated {
			t.Fatalf("ignore: status %d: %s", code, out)
		}
	})

	t.Run("reviews answer for the server's authenticator and authorizer", func(t *testing.T) {
		ssar, err := s.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "delete", Resource: "nodes"}},
		}, metav1.CreateOptions{})
		if err != nil || !ssar.Status.Allowed {
			t.Fatalf("admin may delete nodes: %+v %v", ssar.Status, err)
		}
		self, err := s.Client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil || self.Status.UserInfo.Username != "kubernetes-admin" {
			t.Fatalf("whoami: %+v %v", self, err)
		}
		tr, err := s.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "not-a-token"}}, metav1.CreateOptions{})
		if err != nil || tr.Status.Authenticated {
			t.Fatalf("a made-up token authenticated: %+v %v", tr.Status, err)
		}
	})

	t.Run("server-side apply conflicts", func(t *testing.T) {
		apply := func(manager, color string, force bool) error {
			body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"owned"},"data":{"color":"` + color + `"}}`
			_, err := s.Client.CoreV1().ConfigMaps("default").Patch(ctx, "owned", types.ApplyPatchType, []byte(body), metav1.PatchOptions{FieldManager: manager, Force: ptr.To(force)})
			return err
		}
		if err := apply("alice", "blue", false); err != nil {
			t.Fatal(err)
		}
		if err := apply("bob", "red", false); !apierrors.IsConflict(err) {
			t.Fatalf("second manager: want 409 conflict, got %v", err)
		}
		if err := apply("bob", "red", true); err != nil {
			t.Fatalf("forced apply: %v", err)
		}
		// Fields the kind lacks, or of the wrong type: the request's fault,
		// 400 (upstream's field manager error would answer 500), on create
		// through apply and on an update, of the object and of its status.
		for _, c := range []struct{ path, body string }{
			{"/api/v1/namespaces/default/configmaps/owned", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"owned"},"spec":{"replicas":1e400}}`},
			{"/api/v1/namespaces/default/configmaps/new", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"new"},"data":{"a":[1]}}`},
			{"/api/v1/namespaces/default/status", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"},"status":{"phase":{"a":1}}}`},
		} {
			_, err := s.Client.CoreV1().RESTClient().Patch(types.ApplyPatchType).AbsPath(c.path).Param("fieldManager", "alice").Body([]byte(c.body)).Do(ctx).Get()
			if !apierrors.IsBadRequest(err) {
				t.Errorf("apply to %s: want 400, got %v", c.path, err)
			}
		}
	})
}

// TestCompactedRevisionIsGone checks the 410 Gone answers for revisions etcd has
// compacted away.
func TestCompactedRevisionIsGone(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	cm, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "old"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		cm.Data = map[string]string{"i": string(rune('a' + i))}
		if cm, err = s.Client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{s.EtcdEndpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	resp, err := etcd.Get(ctx, "compact-probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcd.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	// A restarted server's watch cache starts after the compaction.
	s = s.Restart(t)
	_, err = s.Client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{
		ResourceVersion: "2", ResourceVersionMatch: metav1.ResourceVersionMatchExact,
	})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Errorf("list at a compacted revision: want 410 Gone, got %v", err)
	}
	w, err := s.Client.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: "2"})
	if err != nil {
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("watch from a compacted revision: want 410 Gone, got %v", err)
		}
		return
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		st, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || st.Code != http.StatusGone {
			t.Fatalf("watch from a compacted revision: want an ERROR event with 410, got %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event from a watch at a compacted revision")
	}
}
