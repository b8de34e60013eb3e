package validation

import (
	"testing"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validMigration() *storagemigrationv1.StorageVersionMigration {
	return &storagemigrationv1.StorageVersionMigration{
		ObjectMeta: metav1.ObjectMeta{Name: "svm", ResourceVersion: "1"},
		Spec:       storagemigrationv1.StorageVersionMigrationSpec{Resource: metav1.GroupResource{Group: "apps", Resource: "deployments"}},
	}
}

func TestStorageVersionMigration(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*storagemigrationv1.StorageVersionMigration)
		want   []string
	}{
		{"valid", func(*storagemigrationv1.StorageVersionMigration) {}, nil},
		{"core group", func(s *storagemigrationv1.StorageVersionMigration) { s.Spec.Resource.Group = "" }, nil},
		{"no resource", func(s *storagemigrationv1.StorageVersionMigration) { s.Spec.Resource.Resource = "" },
			[]string{"FieldValueRequired spec.resource.resource"}},
		{"bad names", func(s *storagemigrationv1.StorageVersionMigration) {
			s.Spec.Resource = metav1.GroupResource{Group: "Apps", Resource: "1pods"}
		},
			[]string{"FieldValueInvalid spec.resource.resource", "FieldValueInvalid spec.resource.group"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validMigration()
			tt.mutate(s)
			checkErrs(t, StorageVersionMigration(s), tt.want)
		})
	}
}

func TestStorageVersionMigrationUpdates(t *testing.T) {
	old := validMigration()
	changed := validMigration()
	changed.Spec.Resource.Resource = "replicasets"
	checkErrs(t, StorageVersionMigrationUpdate(changed, old), []string{"FieldValueInvalid spec"})

	cond := func(t storagemigrationv1.MigrationConditionType, s metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: string(t), Status: s, Reason: "Test", LastTransitionTime: metav1.Now()}
	}
	succeeded := validMigration()
	succeeded.Status.ResourceVersion = "42"
	succeeded.Status.Conditions = []metav1.Condition{cond(storagemigrationv1.MigrationSucceeded, metav1.ConditionTrue)}
	checkErrs(t, StorageVersionMigrationStatusUpdate(succeeded, old), nil)

	both := succeeded.DeepCopy()
	both.Status.Conditions = append(both.Status.Conditions, cond(storagemigrationv1.MigrationFailed, metav1.ConditionTrue))
	checkErrs(t, StorageVersionMigrationStatusUpdate(both, old), []string{"FieldValueInvalid status.conditions"})

	undone := succeeded.DeepCopy()
	undone.Status.ResourceVersion = "43"
	undone.Status.Conditions = []metav1.Condition{cond(storagemigrationv1.MigrationSucceeded, metav1.ConditionFalse)}
	checkErrs(t, StorageVersionMigrationStatusUpdate(undone, succeeded), []string{"FieldValueInvalid status.resourceVersion", "FieldValueInvalid status.conditions"})

	bad := validMigration()
	bad.Status.ResourceVersion = "abc"
	checkErrs(t, StorageVersionMigrationStatusUpdate(bad, old), []string{"FieldValueInvalid status.resourceVersion"})
}
