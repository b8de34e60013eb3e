package rbac_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/auth/rbac/bootstrap"
	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestAuthorization drives the API server's authorizers with clients of
// several identities, each of which must get exactly upstream's answer.
func TestAuthorization(t *testing.T) {
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir(), Disable: []string{"scheduler"}})
	ctx := context.Background()
	for _, ns := range []string{"rbac-a", "rbac-b"} {
		s.CreateNamespace(t, ns)
	}

	t.Run("anonymous", func(t *testing.T) {
		// Anonymous requests are system:anonymous in system:unauthenticated:
		// system:public-info-viewer lets them read /version and the health
		// checks, and nothing else.
		anon := kubernetes.NewForConfigOrDie(rest.AnonymousClientConfig(s.Config))
		_, err := anon.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		wantForbidden(t, err, `pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"`)
		if _, err := anon.Discovery().ServerVersion(); err != nil {
			t.Errorf("anonymous get /version: %v", err)
		}
		if _, err := anon.Discovery().RESTClient().Get().AbsPath("/healthz").DoRaw(ctx); err != nil {
			t.Errorf("anonymous get /healthz: %v", err)
		}
		// Do, not DoRaw: it decodes the Status the server sent.
		err = anon.Discovery().RESTClient().Get().AbsPath("/metrics").Do(ctx).Error()
		wantForbidden(t, err, `forbidden: User "system:anonymous" cannot get path "/metrics"`)
	})

	t.Run("service account without bindings", func(t *testing.T) {
		c := serviceAccountClient(t, s, "rbac-a", "nobody")
		_, err := c.CoreV1().Pods("rbac-a").List(ctx, metav1.ListOptions{})
		wantForbidden(t, err, `pods is forbidden: User "system:serviceaccount:rbac-a:nobody" cannot list resource "pods" in API group "" in the namespace "rbac-a"`)
		_, err = c.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
		wantForbidden(t, err, `nodes "n1" is forbidden: User "system:serviceaccount:rbac-a:nobody" cannot get resource "nodes" in API group "" at the cluster scope`)
		// What every authenticated user may do: discovery, and reviews.
		if _, err := c.Discovery().ServerVersion(); err != nil {
			t.Errorf("get /version: %v", err)
		}
		if _, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "pods"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Errorf("create SelfSubjectAccessReview: %v", err)
		}
	})

	t.Run("service account bound to a role", func(t *testing.T) {
		create(t, s.Client.RbacV1().Roles("rbac-a").Create, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
		})
		create(t, s.Client.RbacV1().RoleBindings("rbac-a").Create, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader"}}, // namespace: the binding's
		})
		c := serviceAccountClient(t, s, "rbac-a", "reader")
		eventually(t, "list pods in rbac-a as the bound service account", func() error {
			_, err := c.CoreV1().Pods("rbac-a").List(ctx, metav1.ListOptions{})
			return err
		})
		_, err := c.CoreV1().Pods("rbac-b").List(ctx, metav1.ListOptions{})
		wantForbidden(t, err, `pods is forbidden: User "system:serviceaccount:rbac-a:reader" cannot list resource "pods" in API group "" in the namespace "rbac-b"`)
		err = c.CoreV1().Pods("rbac-a").Delete(ctx, "x", metav1.DeleteOptions{})
		wantForbidden(t, err, `pods "x" is forbidden: User "system:serviceaccount:rbac-a:reader" cannot delete resource "pods" in API group "" in the namespace "rbac-a"`)
		_, err = c.CoreV1().Secrets("rbac-a").List(ctx, metav1.ListOptions{})
		wantForbidden(t, err, `secrets is forbidden: User "system:serviceaccount:rbac-a:reader" cannot list resource "secrets" in API group "" in the namespace "rbac-a"`)
	})

	t.Run("node reading another node's pod's secret", func(t *testing.T) {
		for _, n := range []string{"node-1", "node-2"} {
			create(t, s.Client.CoreV1().Secrets("rbac-b").Create, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret-of-" + n}})
			create(t, s.Client.CoreV1().Pods("rbac-b").Create, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "pod-on-" + n},
				Spec: corev1.PodSpec{
					NodeName:   n,
					Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
					Volumes:    []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "secret-of-" + n}}}},
				},
			})
		}
		node1 := impersonate(s, rest.ImpersonationConfig{UserName: "system:node:node-1", Groups: []string{"system:nodes"}})
		eventually(t, "node-1 reads its pod's secret", func() error {
			_, err := node1.CoreV1().Secrets("rbac-b").Get(ctx, "secret-of-node-1", metav1.GetOptions{})
			return err
		})
		_, err := node1.CoreV1().Secrets("rbac-b").Get(ctx, "secret-of-node-2", metav1.GetOptions{})
		wantForbidden(t, err, `secrets "secret-of-node-2" is forbidden: User "system:node:node-1" cannot get resource "secrets" in API group "" in the namespace "rbac-b": node: no relationship found between node 'node-1' and this object`)
		if _, err := node1.CoreV1().Pods("rbac-b").Get(ctx, "pod-on-node-1", metav1.GetOptions{}); err != nil {
			t.Errorf("node-1 get its pod: %v", err)
		}
		_, err = node1.CoreV1().Pods("rbac-b").Get(ctx, "pod-on-node-2", metav1.GetOptions{})
		wantForbidden(t, err, `pods "pod-on-node-2" is forbidden: User "system:node:node-1" cannot get resource "pods" in API group "" in the namespace "rbac-b": node: no relationship found between node 'node-1' and this object`)
		_, err = node1.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		wantForbidden(t, err, `pods is forbidden: User "system:node:node-1" cannot list resource "pods" in API group "" at the cluster scope: node: can only list/watch pods with spec.nodeName field selector`)
		if _, err := node1.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-1"}); err != nil {
			t.Errorf("node-1 list its pods: %v", err)
		}
		_, err = node1.CoreV1().Nodes().Get(ctx, "node-2", metav1.GetOptions{})
		wantForbidden(t, err, `nodes "node-2" is forbidden: User "system:node:node-1" cannot get resource "nodes" in API group "" at the cluster scope: node: node 'node-1' cannot read 'node-2', only its own Node object`)
	})

	t.Run("escalation", func(t *testing.T) {
		// alice may manage role bindings in rbac-a and read pods there.
		create(t, s.Client.RbacV1().Roles("rbac-a").Create, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "binder"},
			Rules: []rbacv1.PolicyRule{
				{Verbs: []string{"create", "update", "get"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"rolebindings", "roles"}},
				{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}},
			},
		})
		create(t, s.Client.RbacV1().RoleBindings("rbac-a").Create, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "alice-binder"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "binder"},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"}},
		})
		alice := impersonate(s, rest.ImpersonationConfig{UserName: "alice"})
		// A binding of what she holds herself is allowed.
		eventually(t, "alice binds pod-reader", func() error {
			_, err := alice.RbacV1().RoleBindings("rbac-a").Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "bob-reader"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
				Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "bob"}},
			}, metav1.CreateOptions{})
			return err
		})
		// A binding of more is not.
		_, err := alice.RbacV1().RoleBindings("rbac-a").Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "bob-nodes"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:controller:ttl-controller"},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "bob"}},
		}, metav1.CreateOptions{})
		wantForbidden(t, err, `rolebindings.rbac.authorization.k8s.io "bob-nodes" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["events"], Verbs:["create" "patch" "update"]}
{APIGroups:[""], Resources:["nodes"], Verbs:["list" "patch" "update" "watch"]}
{APIGroups:["events.k8s.io"], Resources:["events"], Verbs:["create" "patch" "update"]}`)
		// Nor a role with more than she holds.
		_, err = alice.RbacV1().Roles("rbac-a").Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-writer"},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "delete"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
		}, metav1.CreateOptions{})
		wantForbidden(t, err, `roles.rbac.authorization.k8s.io "pod-writer" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`)
		// Updating her own binding to a bigger role is an escalation too.
		rb, err := alice.RbacV1().RoleBindings("rbac-a").Get(ctx, "bob-reader", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: "carol"})
		if _, err := alice.RbacV1().RoleBindings("rbac-a").Update(ctx, rb, metav1.UpdateOptions{}); err != nil {
			t.Errorf("alice adds a subject to a binding of what she holds: %v", err)
		}
		// Nor an update of a role to more than she holds.
		pr, err := alice.RbacV1().Roles("rbac-a").Get(ctx, "pod-reader", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pr.Rules[0].Verbs = append(pr.Rules[0].Verbs, "delete")
		_, err = alice.RbacV1().Roles("rbac-a").Update(ctx, pr, metav1.UpdateOptions{})
		wantForbidden(t, err, `roles.rbac.authorization.k8s.io "pod-reader" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`)
		// The escalate verb on roles lets her write one with more.
		create(t, s.Client.RbacV1().Roles("rbac-a").Create, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "escalate-roles"},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"escalate"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}}},
		})
		create(t, s.Client.RbacV1().RoleBindings("rbac-a").Create, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "alice-escalate"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "escalate-roles"},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"}},
		})
		eventually(t, "alice writes a role with more, with the escalate verb", func() error {
			_, err := alice.RbacV1().Roles("rbac-a").Create(ctx, &rbacv1.Role{
				ObjectMeta: metav1.ObjectMeta{Name: "pod-writer"},
				Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "delete"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
			}, metav1.CreateOptions{})
			return err
		})
		// Aggregation rules take all of cluster-admin's permissions.
		create(t, s.Client.RbacV1().ClusterRoles().Create, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "clusterrole-writer"},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"create"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}}},
		})
		create(t, s.Client.RbacV1().ClusterRoleBindings().Create, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "alice-clusterrole-writer"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "clusterrole-writer"},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"}},
		})
		eventually(t, "alice may create cluster roles", func() error {
			_, err := alice.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "alice-empty"}}, metav1.CreateOptions{})
			return err
		})
		_, err = alice.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta:      metav1.ObjectMeta{Name: "alice-aggregate"},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"x": "y"}}}},
		}, metav1.CreateOptions{})
		wantForbidden(t, err, `clusterroles.rbac.authorization.k8s.io "alice-aggregate" is forbidden: must have cluster-admin privileges to use the aggregationRule`)

		// The bind verb on a cluster role lets her bind it without holding it.
		create(t, s.Client.RbacV1().Roles("rbac-a").Create, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "bind-view"},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"bind"}, APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, ResourceNames: []string{"view"}}},
		})
		create(t, s.Client.RbacV1().RoleBindings("rbac-a").Create, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "alice-bind-view"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "bind-view"},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"}},
		})
		eventually(t, "alice binds view with the bind verb", func() error {
			_, err := alice.RbacV1().RoleBindings("rbac-a").Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "bob-view"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
				Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "bob"}},
			}, metav1.CreateOptions{})
			return err
		})
	})

	t.Run("aggregated roles", func(t *testing.T) {
		// The aggregation controller, as its own service account, may write
		// the rules of view: it holds the escalate verb on cluster roles.
		eventually(t, "view aggregates the rules of system:aggregate-to-view", func() error {
			view, err := s.Client.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, r := range view.Rules {
				if slices.Contains(r.Resources, "pods") && slices.Contains(r.Verbs, "list") {
					return nil
				}
			}
			return fmt.Errorf("view has no rule to list pods: %v", view.Rules)
		})
	})

	t.Run("rules of the default service account", func(t *testing.T) {
		sa := serviceaccount.MakeUsername("default", "default")
		c := serviceAccountClient(t, s, "default", "default")
		review, err := c.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
			Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "default"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range review.Status.ResourceRules {
			got[ruleKey(rbacv1.PolicyRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})] = true
		}
		for _, r := range review.Status.NonResourceRules {
			got[ruleKey(rbacv1.PolicyRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})] = true
		}
		want := map[string]bool{}
		for _, r := range defaultPolicyRules(sa, serviceaccount.MakeGroupNames("default")) {
			want[ruleKey(r)] = true
		}
		for k := range want {
			if !got[k] {
				t.Errorf("rules review lacks %s", k)
			}
		}
		for k := range got {
			if !want[k] {
				t.Errorf("rules review has %s, which the default policy does not grant", k)
			}
		}
		if review.Status.Incomplete || review.Status.EvaluationError != "" {
			t.Errorf("review incomplete=%v error=%q, want a complete answer", review.Status.Incomplete, review.Status.EvaluationError)
		}

		// kubectl prints them exactly as it prints upstream's answer, which
		// the kubectl end-to-end scenario keeps.
		kubectl, err := exec.LookPath("kubectl")
		if err != nil {
			t.Skip("no kubectl")
		}
		listed, err := os.ReadFile("../../conformance/e2e/testdata/can-i-list-serviceaccount.txt")
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(kubectl, "--kubeconfig", s.Kubeconfig, "auth", "can-i", "--list", "--as="+sa).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl auth can-i --list: %v\n%s", err, out)
		}
		if string(out) != string(listed) {
			t.Errorf("kubectl auth can-i --list --as=%s:\n%s\nwant upstream's:\n%s", sa, out, listed)
		}
	})
}

// defaultPolicyRules returns the rules the default cluster role bindings
// grant a user in groups (and system:authenticated).
func defaultPolicyRules(name string, groups []string) []rbacv1.PolicyRule {
	groups = append(groups, "system:authenticated")
	roles := map[string][]rbacv1.PolicyRule{}
	for _, r := range bootstrap.ClusterRoles() {
		roles[r.Name] = r.Rules
	}
	var rules []rbacv1.PolicyRule
	for _, b := range bootstrap.ClusterRoleBindings() {
		if slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
			return (s.Kind == "Group" && slices.Contains(groups, s.Name)) || (s.Kind == "User" && s.Name == name)
		}) {
			rules = append(rules, roles[b.RoleRef.Name]...)
		}
	}
	return rules
}

func ruleKey(r rbacv1.PolicyRule) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// serviceAccountClient creates the service account ns/name and returns a
// client with a token of it.
func serviceAccountClient(t *testing.T, s *testserver.Server, ns, name string) kubernetes.Interface {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr, err := s.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token of %s/%s: %v", ns, name, err)
	}
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = tr.Status.Token
	return kubernetes.NewForConfigOrDie(cfg)
}

// impersonate returns an admin client acting as u.
func impersonate(s *testserver.Server, u rest.ImpersonationConfig) kubernetes.Interface {
	cfg := rest.CopyConfig(s.Config)
	cfg.Impersonate = u
	return kubernetes.NewForConfigOrDie(cfg)
}

func create[T any](t *testing.T, f func(context.Context, T, metav1.CreateOptions) (T, error), obj T) {
	t.Helper()
	if _, err := f(context.Background(), obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// eventually retries f until it succeeds: the authorizers read informers'
// caches, which see a new binding a moment after it is written.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		last = f()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, last)
	}
}

// wantForbidden checks err is upstream's answer to a request the
// authorizer or an escalation check refuses: a Status of code 403, reason
// Forbidden, the message given.
func wantForbidden(t *testing.T, err error, message string) {
	t.Helper()
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		t.Errorf("got %v, want a 403 Forbidden Status", err)
		return
	}
	st := status.Status()
	if st.Code != http.StatusForbidden || st.Reason != metav1.StatusReasonForbidden || st.Status != metav1.StatusFailure {
		t.Errorf("got code %d reason %q status %q, want 403 Forbidden Failure (%v)", st.Code, st.Reason, st.Status, err)
	}
	if st.Message != message {
		t.Errorf("message:\n%s\nwant:\n%s", st.Message, message)
	}
}
