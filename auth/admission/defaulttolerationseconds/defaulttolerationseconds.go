// Package defaulttolerationseconds is the DefaultTolerationSeconds
// admission plugin: a pod that does not tolerate the node.kubernetes.io/
// not-ready or node.kubernetes.io/unreachable NoExecute taint gets a
// toleration for it with tolerationSeconds 300 (upstream's
// --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds), so that it is evicted from a
// failed node five minutes after the node lifecycle controller taints it.
//
// A toleration counts if its key is the taint's or empty and its effect is
// NoExecute or empty, whatever its operator and seconds, as upstream.
package defaulttolerationseconds

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
)

// PluginName is the plugin's name in the admission chain.
const PluginName = "DefaultTolerationSeconds"

// DefaultSeconds is upstream's default tolerationSeconds for both taints.
const DefaultSeconds int64 = 300

// Plugin is the DefaultTolerationSeconds admission plugin.
type Plugin struct {
	*admission.Handler
	notReady, unreachable int64
}

var _ admission.MutationInterface = (*Plugin)(nil)

// New returns the plugin with upstream's 300 seconds for both taints.
func New() *Plugin {
	return &Plugin{
		Handler:     admission.NewHandler(admission.Create, admission.Update),
		notReady:    DefaultSeconds,
		unreachable: DefaultSeconds,
	}
}

// Admit adds the missing tolerations to a pod.
func (p *Plugin) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != corev1.Resource("pods") || a.GetSubresource() != "" {
		return nil
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest(fmt.Sprintf("expected *v1.Pod but got %T", a.GetObject()))
	}
	for _, d := range []struct {
		key     string
		seconds int64
	}{{corev1.TaintNodeNotReady, p.notReady}, {corev1.TaintNodeUnreachable, p.unreachable}} {
		if tolerates(pod.Spec.Tolerations, d.key) {
			continue
		}
		seconds := d.seconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key:               d.key,
			Operator:          corev1.TolerationOpExists,
			Effect:            corev1.TaintEffectNoExecute,
			TolerationSeconds: &seconds,
		})
	}
	return nil
}

// tolerates reports whether a toleration names the NoExecute taint key, or
// every key or every effect.
func tolerates(tolerations []corev1.Toleration, key string) bool {
	for _, t := range tolerations {
		if (t.Key == key || t.Key == "") && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
			return true
		}
	}
	return false
}
