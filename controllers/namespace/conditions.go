package namespace

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
)

// conditions returns the namespace conditions the controller owns, one of
// each type, as this pass found them. A condition is True when something is
// wrong or still pending, and False with an "all done" reason otherwise. The
// reasons and messages are the ones upstream Kubernetes writes, so clients
// that read them behave the same.
func (s *sweep) conditions() []corev1.NamespaceCondition {
	return []corev1.NamespaceCondition{
		s.discoveryCondition(),
		s.parseCondition(),
		s.contentFailureCondition(),
		s.contentRemainingCondition(),
		s.finalizersCondition(),
	}
}

func (s *sweep) discoveryCondition() corev1.NamespaceCondition {
	const t = corev1.NamespaceDeletionDiscoveryFailure
	if s.discoveryErr == nil {
		return condition(t, false, "ResourcesDiscovered", "All resources successfully discovered")
	}
	msg := s.discoveryErr.Error()
	var groupErr *discovery.ErrGroupDiscoveryFailed
	if errors.As(s.discoveryErr, &groupErr) {
		msg = fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(groupErr.Groups), s.discoveryErr)
	}
	return condition(t, true, "DiscoveryFailed", msg)
}

func (s *sweep) parseCondition() corev1.NamespaceCondition {
	const t = corev1.NamespaceDeletionGVParsingFailure
	if s.parseErr == nil {
		return condition(t, false, "ParsedGroupVersions", "All legacy kube types successfully parsed")
	}
	return condition(t, true, "GroupVersionParsingFailed", s.parseErr.Error())
}

func (s *sweep) contentFailureCondition() corev1.NamespaceCondition {
	const t = corev1.NamespaceDeletionContentFailure
	if len(s.deleteErrs) == 0 {
		return condition(t, false, "ContentDeleted", "All content successfully deleted, may be waiting on finalization")
	}
	msgs := make([]string, 0, len(s.deleteErrs))
	for _, err := range s.deleteErrs {
		msgs = append(msgs, err.Error())
	}
	slices.Sort(msgs)
	return condition(t, true, "ContentDeletionFailed",
		fmt.Sprintf("Failed to delete all resource types, %d remaining: %s", len(msgs), strings.Join(msgs, ", ")))
}

func (s *sweep) contentRemainingCondition() corev1.NamespaceCondition {
	const t = corev1.NamespaceContentRemaining
	if len(s.remaining) == 0 {
		return condition(t, false, "ContentRemoved", "All content successfully removed")
	}
	parts := make([]string, 0, len(s.remaining))
	for gr, n := range s.remaining {
		parts = append(parts, fmt.Sprintf("%s.%s has %d resource instances", gr.Resource, gr.Group, n))
	}
	slices.Sort(parts)
	return condition(t, true, "SomeResourcesRemain", "Some resources are remaining: "+strings.Join(parts, ", "))
}

func (s *sweep) finalizersCondition() corev1.NamespaceCondition {
	const t = corev1.NamespaceFinalizersRemaining
	if len(s.finalizers) == 0 {
		return condition(t, false, "ContentHasNoFinalizers", "All content-preserving finalizers finished")
	}
	parts := make([]string, 0, len(s.finalizers))
	for f, n := range s.finalizers {
		parts = append(parts, fmt.Sprintf("%s in %d resource instances", f, n))
	}
	slices.Sort(parts)
	return condition(t, true, "SomeFinalizersRemain",
		"Some content in the namespace has finalizers remaining: "+strings.Join(parts, ", "))
}

func condition(t corev1.NamespaceConditionType, failing bool, reason, msg string) corev1.NamespaceCondition {
	status := corev1.ConditionFalse
	if failing {
		status = corev1.ConditionTrue
	}
	return corev1.NamespaceCondition{Type: t, Status: status, Reason: reason, Message: msg}
}

// setConditions merges want into status, one condition per type, and reports
// whether anything changed. A condition's LastTransitionTime moves to now only
// when it is new or its Status flips.
func setConditions(status *corev1.NamespaceStatus, want []corev1.NamespaceCondition, now time.Time) bool {
	changed := false
	for _, w := range want {
		i := slices.IndexFunc(status.Conditions, func(c corev1.NamespaceCondition) bool { return c.Type == w.Type })
		if i < 0 {
			w.LastTransitionTime = metav1.NewTime(now)
			status.Conditions = append(status.Conditions, w)
			changed = true
			continue
		}
		have := &status.Conditions[i]
		if have.Status == w.Status && have.Reason == w.Reason && have.Message == w.Message {
			continue
		}
		if have.Status != w.Status {
			have.LastTransitionTime = metav1.NewTime(now)
		}
		have.Status, have.Reason, have.Message = w.Status, w.Reason, w.Message
		changed = true
	}
	return changed
}
