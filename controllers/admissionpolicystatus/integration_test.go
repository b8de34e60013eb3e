package admissionpolicystatus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

// TestTypeChecking: a policy whose expression names a field its kind does
// not have gets upstream's type-checking warning in its status; once fixed,
// the status of the new generation has none.
func TestTypeChecking(t *testing.T) {
	s := testserver.Start(t)
	ctx := t.Context()
	policies := s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "replicas"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				}}}},
			Validations: []admissionregistrationv1.Validation{
				{Expression: "object.spec.replicas <= 5"},
				{Expression: "object.spec.replicaz <= 5"},
			},
		},
	}
	if _, err := policies.Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitChecked(t, ctx, s, 1, true)
	warnings := got.Status.TypeChecking.ExpressionWarnings
	if len(warnings) != 1 || warnings[0].FieldRef != "spec.validations[1].expression" ||
		!strings.Contains(warnings[0].Warning, "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicaz'") {
		t.Errorf("expression warnings %+v, want one for spec.validations[1].expression of undefined field 'replicaz'", warnings)
	}

	got.Spec.Validations[1].Expression = "object.spec.replicas >= 1"
	if _, err := policies.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Server-side apply drops the emptied typeChecking: the status of
	// generation 2 says no more than that.
	if got := waitChecked(t, ctx, s, 2, false); got.Status.TypeChecking != nil && len(got.Status.TypeChecking.ExpressionWarnings) != 0 {
		t.Errorf("expression warnings of the fixed policy: %+v", got.Status.TypeChecking.ExpressionWarnings)
	}
}

// waitChecked waits for the policy's type checking of generation gen, with
// status.typeChecking if withResult.
func waitChecked(t *testing.T, ctx context.Context, s *testserver.Server, gen int64, withResult bool) *admissionregistrationv1.ValidatingAdmissionPolicy {
	t.Helper()
	var got *admissionregistrationv1.ValidatingAdmissionPolicy
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		got, err = s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, "replicas", metav1.GetOptions{})
		return err == nil && got.Generation == gen && got.Status.ObservedGeneration == gen && (got.Status.TypeChecking != nil || !withResult), nil
	})
	if err != nil {
		t.Fatalf("policy of generation %d not type-checked: %v; status %+v", gen, err, got.Status)
	}
	return got
}
