package clusterroleaggregation

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"

	"github.com/kubelite/kubelite/auth/rbac/bootstrap"
)

func TestConfigValidate(t *testing.T) {
	f := newFixture(t)
	full := Config{Client: f.client, Informer: f.factory.Rbac().V1().ClusterRoles()}
	if err := full.Validate(); err != nil {
		t.Errorf("Validate() of a full config = %v, want nil", err)
	}
	for name, mutate := range map[string]func(*Config){
		"Client":   func(c *Config) { c.Client = nil },
		"Informer": func(c *Config) { c.Informer = nil },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := full
			mutate(&cfg)
			if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate() = %v, want ErrInvalidConfig", err)
			}
			if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New() = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestEnqueueAffected checks which roles a change queues: the changed role
// if it is aggregated, and the aggregated roles that select it.
func TestEnqueueAffected(t *testing.T) {
	admin := aggregated(role("admin", nil), "to-admin")
	edit := aggregated(role("edit", nil, "to-admin"), "to-edit")
	view := aggregated(role("view", nil, "to-edit"), "to-view")
	tests := []struct {
		name    string
		changed any
		want    []string
	}{
		{"selected by view", role("x", nil, "to-view"), []string{"view"}},
		{"selected by two", role("x", nil, "to-view", "to-admin"), []string{"admin", "view"}},
		{"aggregated and selected", edit, []string{"admin", "edit"}},
		{"aggregated, selected by nothing", admin, []string{"admin"}},
		{"selected by nothing", role("x", rules("r1"), "other"), nil},
		{"not a cluster role", "junk", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, admin, edit, view, role("plain", nil))
			f.ctrl.enqueueAffected(tc.changed)
			got := f.drain()
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("queued (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProcessNext checks the retry policy: success and terminal errors do
// not come back, other failures come back rate limited.
func TestProcessNext(t *testing.T) {
	invalid := role("broken", nil)
	invalid.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}},
	}}}
	tests := []struct {
		name         string
		role         string
		failUpdate   bool
		wantRequeues int
	}{
		{name: "success", role: "agg"},
		{name: "terminal", role: "broken"},
		{name: "conflict", role: "agg", failUpdate: true, wantRequeues: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			f := newFixture(t, aggregated(role("agg", nil), "a"), role("x", rules("r1"), "a"), invalid)
			if tc.failUpdate {
				f.client.PrependReactor("update", "clusterroles", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewConflict(schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterroles"}, tc.role, errors.New("changed"))
				})
			}
			f.ctrl.loop.Queue().Add(tc.role)
			if !f.ctrl.loop.ProcessNext(ctx) {
				t.Fatal("processNext() = false, want true")
			}
			if got := f.ctrl.loop.Queue().NumRequeues(tc.role); got != tc.wantRequeues {
				t.Errorf("requeues = %d, want %d", got, tc.wantRequeues)
			}
		})
	}
}

// TestRunBootstrapPolicy runs the controller over kubelite's default
// policy: admin, edit and view get upstream's aggregated rules, and a new
// role labelled aggregate-to-view reaches all three.
func TestRunBootstrapPolicy(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	f := newFixture(t)
	policy := bootstrap.ClusterRoles()
	for i := range policy {
		if _, err := f.client.RbacV1().ClusterRoles().Create(ctx, &policy[i], metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	f.factory.Start(ctx.Done())
	go func() { done <- f.ctrl.Run(ctx, 2) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
		f.factory.Shutdown()
	}()

	byName := map[string][]rbacv1.PolicyRule{}
	for _, r := range policy {
		byName[r.Name] = r.Rules
	}
	view := byName["system:aggregate-to-view"]
	edit := union(byName["system:aggregate-to-edit"], view)
	admin := union(edit, byName["system:aggregate-to-admin"])
	waitForRules(ctx, t, f, map[string][]rbacv1.PolicyRule{"view": view, "edit": edit, "admin": admin})

	extra := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}
	widgets := role("widget-viewer", []rbacv1.PolicyRule{extra}, bootstrap.AggregateToViewLabel)
	if _, err := f.client.RbacV1().ClusterRoles().Create(ctx, widgets, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// widget-viewer sorts after system:aggregate-to-view, so its rule comes
	// last in view; edit and admin take it in through view.
	view = append(slices.Clone(view), extra)
	edit = union(byName["system:aggregate-to-edit"], view)
	admin = union(edit, byName["system:aggregate-to-admin"])
	waitForRules(ctx, t, f, map[string][]rbacv1.PolicyRule{"view": view, "edit": edit, "admin": admin})
}

// union appends the rules of b that a lacks, like the controller does.
func union(a, b []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := slices.Clone(a)
	for _, r := range b {
		if !slices.ContainsFunc(out, func(have rbacv1.PolicyRule) bool { return cmp.Equal(have, r) }) {
			out = append(out, r)
		}
	}
	return out
}

// waitForRules waits until each named role holds exactly the given rules.
func waitForRules(ctx context.Context, t *testing.T, f *fixture, want map[string][]rbacv1.PolicyRule) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var diffs []string
		for name, rules := range want {
			got, err := f.client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rules, got.Rules); diff != "" {
				diffs = append(diffs, name+" (-want +got):\n"+diff)
			}
		}
		if len(diffs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules not aggregated after 10s:\n%s", diffs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
