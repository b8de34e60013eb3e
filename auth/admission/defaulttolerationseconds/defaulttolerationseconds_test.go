package defaulttolerationseconds

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/utils/ptr"
)

func attrs(obj runtime.Object, resource, sub string) admission.Attributes {
	return admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
		corev1.SchemeGroupVersion.WithResource(resource), sub, admission.Create, nil, false, nil)
}

func TestAdmit(t *testing.T) {
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	unreachable := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	other := corev1.Toleration{Key: "example.com/x", Operator: corev1.TolerationOpEqual, Value: "y", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name string
		have []corev1.Toleration
		want []corev1.Toleration
	}{
		{"none", nil, []corev1.Toleration{notReady, unreachable}},
		{"unrelated kept", []corev1.Toleration{other}, []corev1.Toleration{other, notReady, unreachable}},
		{"own not-ready kept",
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](5)}},
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](5)}, unreachable}},
		{"own unreachable, any effect",
			[]corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists}},
			[]corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists}, notReady}},
		{"tolerates everything", []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, []corev1.Toleration{{Operator: corev1.TolerationOpExists}}},
		{"NoSchedule only does not count",
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}, notReady, unreachable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Tolerations: tt.have}}
			if err := New().Admit(context.Background(), attrs(pod, "pods", ""), nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, pod.Spec.Tolerations); diff != "" {
				t.Errorf("tolerations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIgnored(t *testing.T) {
	pod := &corev1.Pod{}
	if err := New().Admit(context.Background(), attrs(pod, "pods", "status"), nil); err != nil || len(pod.Spec.Tolerations) != 0 {
		t.Errorf("status subresource: err %v, tolerations %v", err, pod.Spec.Tolerations)
	}
	if err := New().Admit(context.Background(), attrs(pod, "configmaps", ""), nil); err != nil || len(pod.Spec.Tolerations) != 0 {
		t.Errorf("other resource: err %v, tolerations %v", err, pod.Spec.Tolerations)
	}
	err := New().Admit(context.Background(), attrs(&corev1.ConfigMap{}, "pods", ""), nil)
	if !apierrors.IsBadRequest(err) {
		t.Errorf("not a pod: err %v, want BadRequest", err)
	}
}
