package namespace

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

func TestSweepConditions(t *testing.T) {
	s := &sweep{
		discoveryErr: &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{
			{Group: "broken.example.com", Version: "v1"}: errors.New("unreachable"),
		}},
		parseErr:   errors.New(`parse group version "a/b/c": unexpected GroupVersion string: a/b/c`),
		deleteErrs: []error{errors.New("list widgets.example.com: boom"), errors.New("delete collection of configmaps: boom")},
		remaining: map[schema.GroupResource]int{
			{Resource: "pods"}:                          2,
			{Group: "example.com", Resource: "widgets"}: 1,
		},
		finalizers: map[string]int{"example.com/hold": 1, "kubernetes.io/pvc-protection": 2},
	}
	want := []corev1.NamespaceCondition{{
		Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionTrue, Reason: "DiscoveryFailed",
		Message: "Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: broken.example.com/v1: unreachable",
	}, {
		Type: corev1.NamespaceDeletionGVParsingFailure, Status: corev1.ConditionTrue, Reason: "GroupVersionParsingFailed",
		Message: `parse group version "a/b/c": unexpected GroupVersion string: a/b/c`,
	}, {
		Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionTrue, Reason: "ContentDeletionFailed",
		Message: "Failed to delete all resource types, 2 remaining: delete collection of configmaps: boom, list widgets.example.com: boom",
	}, {
		Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Reason: "SomeResourcesRemain",
		Message: "Some resources are remaining: pods. has 2 resource instances, widgets.example.com has 1 resource instances",
	}, {
		Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Reason: "SomeFinalizersRemain",
		Message: "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances, kubernetes.io/pvc-protection in 2 resource instances",
	}}
	if diff := cmp.Diff(want, s.conditions()); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}

	clean := &sweep{}
	for _, c := range clean.conditions() {
		if c.Status != corev1.ConditionFalse || c.Reason == "" || c.Message == "" {
			t.Errorf("condition of a clean sweep = %+v, want False with a reason and message", c)
		}
	}
}

func TestSetConditions(t *testing.T) {
	then := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	cond := func(status corev1.ConditionStatus, reason string, at metav1.Time) corev1.NamespaceCondition {
		return corev1.NamespaceCondition{Type: corev1.NamespaceContentRemaining, Status: status, Reason: reason, Message: reason, LastTransitionTime: at}
	}
	tests := []struct {
		name        string
		have        []corev1.NamespaceCondition
		want        corev1.NamespaceCondition
		wantChanged bool
		wantAfter   []corev1.NamespaceCondition
	}{{
		name:        "new condition is stamped now",
		want:        cond(corev1.ConditionTrue, "SomeResourcesRemain", metav1.Time{}),
		wantChanged: true,
		wantAfter:   []corev1.NamespaceCondition{cond(corev1.ConditionTrue, "SomeResourcesRemain", metav1.NewTime(now))},
	}, {
		name:      "same condition is left alone",
		have:      []corev1.NamespaceCondition{cond(corev1.ConditionTrue, "SomeResourcesRemain", then)},
		want:      cond(corev1.ConditionTrue, "SomeResourcesRemain", metav1.Time{}),
		wantAfter: []corev1.NamespaceCondition{cond(corev1.ConditionTrue, "SomeResourcesRemain", then)},
	}, {
		name:        "new message keeps the transition time",
		have:        []corev1.NamespaceCondition{cond(corev1.ConditionTrue, "SomeResourcesRemain", then)},
		want:        cond(corev1.ConditionTrue, "OtherReason", metav1.Time{}),
		wantChanged: true,
		wantAfter:   []corev1.NamespaceCondition{cond(corev1.ConditionTrue, "OtherReason", then)},
	}, {
		name:        "status flip moves the transition time",
		have:        []corev1.NamespaceCondition{cond(corev1.ConditionTrue, "SomeResourcesRemain", then)},
		want:        cond(corev1.ConditionFalse, "ContentRemoved", metav1.Time{}),
		wantChanged: true,
		wantAfter:   []corev1.NamespaceCondition{cond(corev1.ConditionFalse, "ContentRemoved", metav1.NewTime(now))},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status := &corev1.NamespaceStatus{Conditions: tc.have}
			if got := setConditions(status, []corev1.NamespaceCondition{tc.want}, now); got != tc.wantChanged {
				t.Errorf("setConditions() = %v, want %v", got, tc.wantChanged)
			}
			if diff := cmp.Diff(tc.wantAfter, status.Conditions); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}
