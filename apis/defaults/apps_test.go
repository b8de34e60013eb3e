package defaults

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// webLabels are the labels of the pod templates in workload tests.
func webLabels() map[string]string { return map[string]string{"app": "web"} }

// template is a workload's pod template as a client sends it.
func template() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: webLabels()},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{container("web", "nginx")}},
	}
}

// defaultedTemplate is template after PodTemplateSpec.
func defaultedTemplate() corev1.PodTemplateSpec {
	t := template()
	t.Spec = defaultedSpec(corev1.PodSpec{Containers: []corev1.Container{defaulted(container("web", "nginx"), corev1.PullAlways)}})
	return t
}

func intOrString(v intstr.IntOrString) *intstr.IntOrString { return &v }

func TestDeployment(t *testing.T) {
	selector := &metav1.LabelSelector{MatchLabels: webLabels()}
	runCases(t, Deployment, []defaultCase[appsv1.Deployment]{{
		name: "minimal deployment",
		in:   appsv1.Deployment{Spec: appsv1.DeploymentSpec{Selector: selector, Template: template()}},
		want: appsv1.Deployment{Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)),
			Selector: selector,
			Template: defaultedTemplate(),
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: intOrString(intstr.FromString("25%")),
					MaxSurge:       intOrString(intstr.FromString("25%")),
				},
			},
			RevisionHistoryLimit:    new(int32(10)),
			ProgressDeadlineSeconds: new(int32(600)),
		}},
	}, {
		name: "no selector or labels copied from the template",
		in:   appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: template()}},
		want: appsv1.Deployment{Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)),
			Template: defaultedTemplate(),
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: intOrString(intstr.FromString("25%")),
					MaxSurge:       intOrString(intstr.FromString("25%")),
				},
			},
			RevisionHistoryLimit:    new(int32(10)),
			ProgressDeadlineSeconds: new(int32(600)),
		}},
	}, {
		name: "partial rolling update and set fields kept",
		in: appsv1.Deployment{Spec: appsv1.DeploymentSpec{
			Replicas:                new(int32(0)),
			Strategy:                appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: intOrString(intstr.FromInt32(0))}},
			RevisionHistoryLimit:    new(int32(0)),
			ProgressDeadlineSeconds: new(int32(30)),
		}},
		want: appsv1.Deployment{Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(0)),
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: intOrString(intstr.FromString("25%")),
					MaxSurge:       intOrString(intstr.FromInt32(0)),
				},
			},
			RevisionHistoryLimit:    new(int32(0)),
			ProgressDeadlineSeconds: new(int32(30)),
			Template:                corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
		}},
	}, {
		name: "recreate gets no rolling update",
		in:   appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}},
		want: appsv1.Deployment{Spec: appsv1.DeploymentSpec{
			Replicas:                new(int32(1)),
			Strategy:                appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			RevisionHistoryLimit:    new(int32(10)),
			ProgressDeadlineSeconds: new(int32(600)),
			Template:                corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
		}},
	}})
}

func TestReplicaSet(t *testing.T) {
	runCases(t, ReplicaSet, []defaultCase[appsv1.ReplicaSet]{{
		name: "replicas and template",
		in:   appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: template()}},
		want: appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: new(int32(1)), Template: defaultedTemplate()}},
	}, {
		name: "zero replicas kept, nothing copied from the template",
		in:   appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: new(int32(0)), Template: template()}},
		want: appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: new(int32(0)), Template: defaultedTemplate()}},
	}})
}

func TestDaemonSet(t *testing.T) {
	runCases(t, DaemonSet, []defaultCase[appsv1.DaemonSet]{{
		name: "minimal daemon set",
		in:   appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: template()}},
		want: appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{
			Template: defaultedTemplate(),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{
					MaxUnavailable: intOrString(intstr.FromInt32(1)),
					MaxSurge:       intOrString(intstr.FromInt32(0)),
				},
			},
			RevisionHistoryLimit: new(int32(10)),
		}},
	}, {
		name: "set values kept",
		in: appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: intOrString(intstr.FromString("10%"))},
			},
			RevisionHistoryLimit: new(int32(2)),
		}},
		want: appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{
			Template: corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{
					MaxUnavailable: intOrString(intstr.FromString("10%")),
					MaxSurge:       intOrString(intstr.FromInt32(0)),
				},
			},
			RevisionHistoryLimit: new(int32(2)),
		}},
	}, {
		name: "OnDelete gets no rolling update",
		in:   appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}}},
		want: appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{
			Template:             corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})},
			UpdateStrategy:       appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType},
			RevisionHistoryLimit: new(int32(10)),
		}},
	}})
}

func TestStatefulSet(t *testing.T) {
	retain := &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	emptyTemplate := corev1.PodTemplateSpec{Spec: defaultedSpec(corev1.PodSpec{})}
	claim := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: q("1Gi")},
		}},
	}
	defaultedClaim := *claim.DeepCopy()
	defaultedClaim.Spec.VolumeMode = new(corev1.PersistentVolumeFilesystem)
	defaultedClaim.Status.Phase = corev1.ClaimPending

	runCases(t, StatefulSet, []defaultCase[appsv1.StatefulSet]{{
		name: "minimal stateful set with a claim template",
		in: appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			Template:             template(),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim},
		}},
		want: appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			Replicas:            new(int32(1)),
			Template:            defaultedTemplate(),
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{
					Partition:      new(int32(0)),
					MaxUnavailable: intOrString(intstr.FromInt32(1)),
				},
			},
			RevisionHistoryLimit:                 new(int32(10)),
			PersistentVolumeClaimRetentionPolicy: retain,
			VolumeClaimTemplates:                 []corev1.PersistentVolumeClaim{defaultedClaim},
		}},
	}, {
		name: "explicit RollingUpdate type without rollingUpdate stays nil",
		in: appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
		}},
		want: appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			Replicas:                             new(int32(1)),
			Template:                             emptyTemplate,
			PodManagementPolicy:                  appsv1.OrderedReadyPodManagement,
			UpdateStrategy:                       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			RevisionHistoryLimit:                 new(int32(10)),
			PersistentVolumeClaimRetentionPolicy: retain,
		}},
	}, {
		name: "set fields kept, half a retention policy completed",
		in: appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			Replicas:            new(int32(3)),
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: new(int32(2))},
			},
			RevisionHistoryLimit: new(int32(1)),
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
			},
		}},
		want: appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			Replicas:            new(int32(3)),
			Template:            emptyTemplate,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{
					Partition:      new(int32(2)),
					MaxUnavailable: intOrString(intstr.FromInt32(1)),
				},
			},
			RevisionHistoryLimit: new(int32(1)),
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		}},
	}, {
		name: "OnDelete keeps a given rollingUpdate untouched",
		in: appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.OnDeleteStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{},
			},
		}},
		want: appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
			Replicas:            new(int32(1)),
			Template:            emptyTemplate,
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.OnDeleteStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{},
			},
			RevisionHistoryLimit:                 new(int32(10)),
			PersistentVolumeClaimRetentionPolicy: retain,
		}},
	}})
}
