package registry

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The unprefixed labels older Jobs carry; upstream still sets them.
const (
	legacyControllerUIDLabel = "controller-uid"
	legacyJobNameLabel       = "job-name"
)

// prepareJob gives a Job without manualSelector a selector of its own: its uid,
// labelled onto the pod template, as upstream does so that no two Jobs ever select
// each other's pods.
func prepareJob(_ context.Context, obj runtime.Object) {
	job := obj.(*batchv1.Job)
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		return
	}
	uid := string(job.UID)
	add := map[string]string{
		batchv1.ControllerUidLabel: uid,
		legacyControllerUIDLabel:   uid,
		batchv1.JobNameLabel:       job.Name,
		legacyJobNameLabel:         job.Name,
	}
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	for k, v := range add {
		if _, ok := job.Spec.Template.Labels[k]; !ok {
			job.Spec.Template.Labels[k] = v
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: uid}}
	}
}
