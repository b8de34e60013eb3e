package clusterroleaggregation

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubelite/kubelite/controllers/internal/loop"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

func TestSync(t *testing.T) {
	invalid := role("broken", nil)
	invalid.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}},
	}}}
	tests := []struct {
		name         string
		roles        []*rbacv1.ClusterRole
		sync         string
		failUpdate   bool
		wantErr      bool
		wantTerminal bool
		// wantUpdates maps each role written to its new rules; a nil value
		// means the rules were cleared.
		wantUpdates map[string][]rbacv1.PolicyRule
	}{{
		name: "union in selector order, then name order, without duplicates",
		roles: []*rbacv1.ClusterRole{
			aggregated(role("agg", nil), "a", "b"),
			role("z", rules("r1", "r2"), "a"),
			role("m", rules("r2", "r3"), "a"),
			role("k", rules("r1", "r4"), "b"),
			role("unrelated", rules("r5")),
		},
		sync:        "agg",
		wantUpdates: map[string][]rbacv1.PolicyRule{"agg": rules("r2", "r3", "r1", "r4")},
	}, {
		name: "the role's own rules are not aggregated into it",
		roles: []*rbacv1.ClusterRole{
			aggregated(role("agg", rules("stale"), "a"), "a"),
			role("x", rules("r1"), "a"),
		},
		sync:        "agg",
		wantUpdates: map[string][]rbacv1.PolicyRule{"agg": rules("r1")},
	}, {
		name: "aggregated roles feed other aggregated roles",
		roles: []*rbacv1.ClusterRole{
			aggregated(role("admin", nil), "to-admin"),
			aggregated(role("edit", rules("e1", "v1"), "to-admin"), "to-edit"),
			role("admin-extra", rules("a1"), "to-admin"),
		},
		sync:        "admin",
		wantUpdates: map[string][]rbacv1.PolicyRule{"admin": rules("a1", "e1", "v1")},
	}, {
		name: "rules already aggregated are not written",
		roles: []*rbacv1.ClusterRole{
			aggregated(role("agg", rules("r1", "r2")), "a"),
			role("x", rules("r1", "r2"), "a"),
		},
		sync: "agg",
	}, {
		name: "nothing selected clears the rules",
		roles: []*rbacv1.ClusterRole{
			aggregated(role("agg", rules("stale")), "a"),
		},
		sync:        "agg",
		wantUpdates: map[string][]rbacv1.PolicyRule{"agg": nil},
	}, {
		name:  "nothing selected and no rules is left alone",
		roles: []*rbacv1.ClusterRole{aggregated(role("agg", nil), "a")},
		sync:  "agg",
	}, {
		name:  "role without aggregation rule is left alone",
		roles: []*rbacv1.ClusterRole{role("plain", rules("r1")), role("x", rules("r2"), "a")},
		sync:  "plain",
	}, {
		name: "missing role is a no-op",
		sync: "ghost",
	}, {
		name:         "invalid selector is a terminal error",
		roles:        []*rbacv1.ClusterRole{invalid},
		sync:         "broken",
		wantErr:      true,
		wantTerminal: true,
	}, {
		name: "failed update is retried",
		roles: []*rbacv1.ClusterRole{
			aggregated(role("agg", nil), "a"),
			role("x", rules("r1"), "a"),
		},
		sync:        "agg",
		failUpdate:  true,
		wantErr:     true,
		wantUpdates: map[string][]rbacv1.PolicyRule{"agg": rules("r1")},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			f := newFixture(t, tc.roles...)
			if tc.failUpdate {
				f.client.PrependReactor("update", "clusterroles", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewConflict(schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterroles"}, tc.sync, errors.New("changed"))
				})
			}
			err := f.ctrl.sync(ctx, tc.sync)
			if (err != nil) != tc.wantErr {
				t.Fatalf("sync() = %v, want error: %t", err, tc.wantErr)
			}
			if got := loop.IsTerminal(err); got != tc.wantTerminal {
				t.Errorf("sync() = %v, terminal: %t, want %t", err, got, tc.wantTerminal)
			}
			want := tc.wantUpdates
			if want == nil {
				want = map[string][]rbacv1.PolicyRule{}
			}
			if diff := cmp.Diff(want, f.updates()); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSyncKeepsMetadata checks that only the rules change: labels,
// annotations and the aggregation rule are written back as they were.
func TestSyncKeepsMetadata(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	agg := aggregated(role("agg", nil, "feeds-other"), "a")
	agg.Annotations = map[string]string{"note": "kept"}
	f := newFixture(t, agg, role("x", rules("r1"), "a"))
	if err := f.ctrl.sync(ctx, "agg"); err != nil {
		t.Fatal(err)
	}
	got, err := f.client.RbacV1().ClusterRoles().Get(ctx, "agg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := agg.DeepCopy()
	want.Rules = rules("r1")
	if diff := cmp.Diff(want.Labels, got.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Annotations, got.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.AggregationRule, got.AggregationRule); diff != "" {
		t.Errorf("aggregation rule (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Rules, got.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}
