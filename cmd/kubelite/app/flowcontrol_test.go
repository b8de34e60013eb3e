package app

import (
	"context"
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apfbootstrap "k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/client-go/kubernetes/fake"
)

// TestEnsureFlowControl checks that a changed mandatory flow schema gets its
// spec back, and a suggested one its administrator opted out of updates for
// keeps its own.
func TestEnsureFlowControl(t *testing.T) {
	ctx := context.Background()
	catchAll := apfbootstrap.MandatoryFlowSchemaCatchAll.DeepCopy()
	catchAll.Spec.MatchingPrecedence = 9000
	suggested := apfbootstrap.SuggestedFlowSchemas[0].DeepCopy()
	suggested.Annotations = map[string]string{flowcontrolv1.AutoUpdateAnnotationKey: "false"}
	suggested.Spec.MatchingPrecedence = 4321
	client := fake.NewClientset(catchAll, suggested)

	if err := ensureFlowControl(ctx, client); err != nil {
		t.Fatalf("ensureFlowControl() = %v", err)
	}
	schemas := client.FlowcontrolV1().FlowSchemas()
	got, err := schemas.Get(ctx, catchAll.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := apfbootstrap.MandatoryFlowSchemaCatchAll.Spec.MatchingPrecedence; got.Spec.MatchingPrecedence != want {
		t.Errorf("catch-all precedence %d, want %d restored", got.Spec.MatchingPrecedence, want)
	}
	if got.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
		t.Errorf("catch-all annotations %v, want autoupdate-spec true", got.Annotations)
	}
	if got, err := schemas.Get(ctx, suggested.Name, metav1.GetOptions{}); err != nil || got.Spec.MatchingPrecedence != 4321 {
		t.Errorf("opted-out %s = %v, %v; want its precedence 4321 kept", suggested.Name, got, err)
	}
	levels, err := client.FlowcontrolV1().PriorityLevelConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(apfbootstrap.MandatoryPriorityLevelConfigurations) + len(apfbootstrap.SuggestedPriorityLevelConfigurations); len(levels.Items) != want {
		t.Errorf("%d priority levels, want %d", len(levels.Items), want)
	}
}
