package table

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStorageVersionMigrationTable(t *testing.T) {
	testColumns(t, []columnCase{
		{"storageversionmigrations", StorageVersionMigrations(), []col{{"Name", "string", "", 0}, str("Resource"), str("Status")}},
	})
	svm := &storagemigrationv1.StorageVersionMigration{
		ObjectMeta: metav1.ObjectMeta{Name: "m"},
		Spec:       storagemigrationv1.StorageVersionMigrationSpec{Resource: metav1.GroupResource{Group: "apps", Resource: "deployments"}},
	}
	if diff := cmp.Diff([]interface{}{"m", "deployments.apps", "Unknown"}, rowOf(t, StorageVersionMigrations(), svm).Cells); diff != "" {
		t.Errorf("pending migration (-want +got):\n%s", diff)
	}
	svm.Status.Conditions = []metav1.Condition{{Type: "Running", Status: metav1.ConditionFalse}, {Type: "Succeeded", Status: metav1.ConditionTrue}}
	if diff := cmp.Diff([]interface{}{"m", "deployments.apps", "Succeeded"}, rowOf(t, StorageVersionMigrations(), svm).Cells); diff != "" {
		t.Errorf("finished migration (-want +got):\n%s", diff)
	}
}
