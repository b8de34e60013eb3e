package registry

import (
	"testing"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPrepareDeviceTaintRuleUpdate(t *testing.T) {
	added := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	rule := func(effect resourcev1.DeviceTaintEffect, at metav1.Time) *resourcev1.DeviceTaintRule {
		return &resourcev1.DeviceTaintRule{Spec: resourcev1.DeviceTaintRuleSpec{
			Taint: resourcev1.DeviceTaint{Key: "k", Effect: effect, TimeAdded: &at}}}
	}
	old := rule(resourcev1.DeviceTaintEffectNone, added)

	same := rule(resourcev1.DeviceTaintEffectNone, added)
	prepareDeviceTaintRuleUpdate(same, old)
	if !same.Spec.Taint.TimeAdded.Equal(&added) {
		t.Errorf("unchanged effect: timeAdded moved to %v", same.Spec.Taint.TimeAdded)
	}

	changed := rule(resourcev1.DeviceTaintEffectNoExecute, added)
	prepareDeviceTaintRuleUpdate(changed, old)
	if !changed.Spec.Taint.TimeAdded.After(added.Time) {
		t.Errorf("new effect: timeAdded stayed at %v", changed.Spec.Taint.TimeAdded)
	}

	chosen := metav1.NewTime(added.Add(time.Minute))
	explicit := rule(resourcev1.DeviceTaintEffectNoExecute, chosen)
	prepareDeviceTaintRuleUpdate(explicit, old)
	if !explicit.Spec.Taint.TimeAdded.Equal(&chosen) {
		t.Errorf("client's timeAdded replaced by %v", explicit.Spec.Taint.TimeAdded)
	}
}
