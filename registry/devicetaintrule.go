package registry

import (
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// prepareDeviceTaintRuleUpdate restarts the taint's clock when its effect
// changes and the client left timeAdded as it was: timeAdded says since when
// the current effect applies, which is what tolerationSeconds count from.
func prepareDeviceTaintRuleUpdate(obj, old runtime.Object) {
	rule, oldRule := obj.(*resourcev1.DeviceTaintRule), old.(*resourcev1.DeviceTaintRule)
	taint, oldTaint := &rule.Spec.Taint, &oldRule.Spec.Taint
	if taint.Effect != oldTaint.Effect && taint.TimeAdded.Equal(oldTaint.TimeAdded) {
		taint.TimeAdded = &metav1.Time{Time: time.Now().Truncate(time.Second)}
	}
}
