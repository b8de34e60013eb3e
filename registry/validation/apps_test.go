package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func webTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: validPodSpec()}
}

func webSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

func meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"}
}

func intstrp(v intstr.IntOrString) *intstr.IntOrString { return &v }

func validDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: meta(),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(2)),
			Selector: webSelector(),
			Template: webTemplate(),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: intstrp(intstr.FromString("25%")), MaxSurge: intstrp(intstr.FromString("25%")),
			}},
			RevisionHistoryLimit:    ptr(int32(10)),
			ProgressDeadlineSeconds: ptr(int32(600)),
		},
	}
}

func TestDeployment(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(d *appsv1.Deployment)
		want   []string
	}{
		{name: "valid", mutate: func(*appsv1.Deployment) {}},
		{name: "namespace required", mutate: func(d *appsv1.Deployment) { d.Namespace = "" },
			want: []string{"FieldValueRequired metadata.namespace"}},
		{name: "selector required", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			want: []string{"FieldValueRequired spec.selector", "FieldValueInvalid spec.template.metadata.labels"}},
		{name: "empty selector", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"FieldValueInvalid spec.selector"}},
		{name: "selector mismatch", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "db"} },
			want: []string{"FieldValueInvalid spec.template.metadata.labels"}},
		{name: "restart policy", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{"FieldValueNotSupported spec.template.spec.restartPolicy"}},
		{name: "both zero", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: intstrp(intstr.FromInt32(0)), MaxSurge: intstrp(intstr.FromString("0%"))}
		}, want: []string{"FieldValueInvalid spec.strategy.rollingUpdate.maxUnavailable"}},
		{name: "bad percent and over 100", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: intstrp(intstr.FromString("150%")), MaxSurge: intstrp(intstr.FromString("x"))}
		}, want: []string{"FieldValueInvalid spec.strategy.rollingUpdate.maxSurge", "FieldValueInvalid spec.strategy.rollingUpdate.maxUnavailable"}},
		{name: "recreate with rollingUpdate", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			want: []string{"FieldValueForbidden spec.strategy.rollingUpdate"}},
		{name: "unknown strategy", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "Blue" },
			want: []string{"FieldValueNotSupported spec.strategy"}},
		{name: "negative counts", mutate: func(d *appsv1.Deployment) {
			d.Spec.Replicas = ptr(int32(-1))
			d.Spec.RevisionHistoryLimit = ptr(int32(-1))
			d.Spec.MinReadySeconds = 600
		}, want: []string{"FieldValueInvalid spec.replicas", "FieldValueInvalid spec.revisionHistoryLimit", "FieldValueInvalid spec.progressDeadlineSeconds"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := validDeployment()
			tc.mutate(d)
			checkErrs(t, Deployment(d), tc.want)
		})
	}

	old := validDeployment()
	d := old.DeepCopy()
	d.Spec.Replicas = ptr(int32(5))
	d.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	checkErrs(t, DeploymentUpdate(d, old), nil)
	d.Spec.Selector.MatchLabels["tier"] = "front"
	d.Spec.Template.Labels["tier"] = "front"
	checkErrs(t, DeploymentUpdate(d, old), []string{"FieldValueInvalid spec.selector"})

	old.Status.CollisionCount = ptr(int32(2))
	d = old.DeepCopy()
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 1, CollisionCount: ptr(int32(1))}
	checkErrs(t, DeploymentStatusUpdate(d, old), []string{"FieldValueInvalid status.readyReplicas", "FieldValueInvalid status.collisionCount"})
}

func TestReplicaSet(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: meta(), Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(1)), Selector: webSelector(), Template: webTemplate()}}
	checkErrs(t, ReplicaSet(rs), nil)
	bad := rs.DeepCopy()
	bad.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(5))
	bad.Spec.MinReadySeconds = -1
	checkErrs(t, ReplicaSet(bad), []string{"FieldValueInvalid spec.minReadySeconds", "FieldValueForbidden spec.template.spec.activeDeadlineSeconds"})
	upd := rs.DeepCopy()
	upd.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}}
	checkErrs(t, ReplicaSetUpdate(upd, rs), []string{"FieldValueInvalid spec.selector"})
	upd = rs.DeepCopy()
	upd.Status = appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 3, ObservedGeneration: -1}
	checkErrs(t, ReplicaSetStatusUpdate(upd, rs), []string{"FieldValueInvalid status.observedGeneration", "FieldValueInvalid status.fullyLabeledReplicas"})
}

func validStatefulSet() *appsv1.StatefulSet {
	tmpl := webTemplate()
	tmpl.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	return &appsv1.StatefulSet{
		ObjectMeta: meta(),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr(int32(3)),
			Selector:            webSelector(),
			Template:            tmpl,
			ServiceName:         "web",
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(0))}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}},
					VolumeMode:  ptr(corev1.PersistentVolumeFilesystem),
				},
			}},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
		},
	}
}

func TestStatefulSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ss *appsv1.StatefulSet)
		want   []string
	}{
		{name: "valid, claim template mounts resolve", mutate: func(*appsv1.StatefulSet) {}},
		{name: "name must be a DNS label", mutate: func(ss *appsv1.StatefulSet) { ss.Name = "web.v1" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "policies", mutate: func(ss *appsv1.StatefulSet) {
			ss.Spec.PodManagementPolicy = "Random"
			ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{}}
			ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = "Keep"
		}, want: []string{"FieldValueInvalid spec.podManagementPolicy", "FieldValueInvalid spec.updateStrategy.rollingUpdate", "FieldValueNotSupported spec.persistentVolumeClaimRetentionPolicy.whenScaled"}},
		{name: "rolling update", mutate: func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(-1)), MaxUnavailable: intstrp(intstr.FromInt32(0))}
		}, want: []string{"FieldValueInvalid spec.updateStrategy.rollingUpdate.partition", "FieldValueInvalid spec.updateStrategy.rollingUpdate.maxUnavailable"}},
		{name: "recreate is alpha", mutate: func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RecreateStatefulSetStrategyType}
		}, want: []string{"FieldValueInvalid spec.updateStrategy"}},
		{name: "service name and ordinals", mutate: func(ss *appsv1.StatefulSet) {
			ss.Spec.ServiceName = "Web"
			ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1}
		}, want: []string{"FieldValueInvalid spec.ordinals.start", "FieldValueInvalid spec.serviceName"}},
		{name: "claim template spec", mutate: func(ss *appsv1.StatefulSet) { ss.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil },
			want: []string{"FieldValueRequired spec.volumeClaimTemplates[0].spec.accessModes"}},
		{name: "template labels checked twice", mutate: func(ss *appsv1.StatefulSet) {
			ss.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}}
			ss.Spec.Template.Labels["app"] = "-bad-"
		}, want: []string{"FieldValueInvalid spec.template.labels", "FieldValueInvalid spec.template.labels"}},
		{name: "restart policy", mutate: func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			want: []string{"FieldValueNotSupported spec.template.spec.restartPolicy"}},
		{name: "empty selector", mutate: func(ss *appsv1.StatefulSet) { ss.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"FieldValueInvalid spec.selector"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := validStatefulSet()
			tc.mutate(ss)
			checkErrs(t, StatefulSet(ss), tc.want)
		})
	}

	old := validStatefulSet()
	ss := old.DeepCopy()
	ss.Spec.Replicas = ptr(int32(5))
	ss.Spec.MinReadySeconds = 10
	ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	checkErrs(t, StatefulSetUpdate(ss, old), nil)
	ss.Spec.ServiceName = "other"
	ss.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	ss.Spec.VolumeClaimTemplates = nil
	ss.Spec.Template.Spec.Containers[0].VolumeMounts = nil
	checkErrs(t, StatefulSetUpdate(ss, old), []string{"FieldValueInvalid spec.volumeClaimTemplates", "FieldValueInvalid spec.serviceName", "FieldValueInvalid spec.podManagementPolicy"})

	ss = old.DeepCopy()
	ss.Status = appsv1.StatefulSetStatus{Replicas: 2, ReadyReplicas: 1, AvailableReplicas: 2}
	checkErrs(t, StatefulSetStatusUpdate(ss, old), []string{"FieldValueInvalid status.availableReplicas"})
}

func validDaemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: meta(),
		Spec: appsv1.DaemonSetSpec{
			Selector: webSelector(),
			Template: webTemplate(),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: intstrp(intstr.FromInt32(1)), MaxSurge: intstrp(intstr.FromInt32(0)),
			}},
			RevisionHistoryLimit: ptr(int32(10)),
		},
	}
}

func TestDaemonSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ds *appsv1.DaemonSet)
		want   []string
	}{
		{name: "valid", mutate: func(*appsv1.DaemonSet) {}},
		{name: "nil selector matches nothing", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil },
			want: []string{"FieldValueInvalid spec.template.metadata.labels"}},
		{name: "empty selector", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"FieldValueInvalid spec.selector"}},
		{name: "surge and unavailable", mutate: func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = intstrp(intstr.FromString("10%"))
		},
			want: []string{"FieldValueInvalid spec.updateStrategy.rollingUpdate.maxSurge"}},
		{name: "both zero", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = nil },
			want: []string{"FieldValueRequired spec.updateStrategy.rollingUpdate.maxUnavailable"}},
		{name: "rolling update required", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate = nil },
			want: []string{"FieldValueRequired spec.updateStrategy.rollingUpdate"}},
		{name: "unknown strategy", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "" },
			want: []string{"FieldValueNotSupported spec.updateStrategy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := validDaemonSet()
			tc.mutate(ds)
			checkErrs(t, DaemonSet(ds), tc.want)
		})
	}
	old := validDaemonSet()
	ds := old.DeepCopy()
	ds.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "x": "y"}}
	ds.Spec.Template.Labels["x"] = "y"
	checkErrs(t, DaemonSetUpdate(ds, old), []string{"FieldValueInvalid spec.selector"})
	ds = old.DeepCopy()
	ds.Status.NumberReady = -1
	checkErrs(t, DaemonSetStatusUpdate(ds, old), []string{"FieldValueInvalid status.numberReady"})
}

func TestControllerRevision(t *testing.T) {
	cr := &appsv1.ControllerRevision{ObjectMeta: meta(), Revision: 1, Data: runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}}
	checkErrs(t, ControllerRevision(cr), nil)
	for _, tc := range []struct {
		raw  string
		want []string
	}{
		{"", []string{"FieldValueRequired data"}},
		{"null", []string{"FieldValueRequired data"}},
		{"[1]", []string{"FieldValueRequired data"}},
		{"{", []string{"FieldValueInvalid data"}},
	} {
		bad := cr.DeepCopy()
		bad.Data.Raw = []byte(tc.raw)
		if tc.raw == "" {
			bad.Data.Raw = nil
		}
		checkErrs(t, ControllerRevision(bad), tc.want)
	}
	upd := cr.DeepCopy()
	upd.Data.Raw = []byte(`{"spec":{"x":1}}`)
	upd.Revision = -1
	checkErrs(t, ControllerRevisionUpdate(upd, cr), []string{"FieldValueInvalid revision", "FieldValueInvalid data"})
}
