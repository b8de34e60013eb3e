package table

import (
	"time"

	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// StorageVersionMigrations returns the table convertor for storage version
// migrations: Name, Resource (resource.group), Status (the last of the
// Running, Succeeded and Failed conditions that is true, else Unknown).
// Upstream's Name column has no name format; neither has this one.
func StorageVersionMigrations() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		column("Name", metav1.ObjectMeta{}.SwaggerDoc()["name"]),
		column("Resource", "GroupResource to migrate"),
		column("Status", "Status of the migration"),
	}
	return newConvertor(columns, cells(func(svm *storagemigrationv1.StorageVersionMigration, _ time.Time) []interface{} {
		status := "Unknown"
		for _, c := range svm.Status.Conditions {
			if c.Status != metav1.ConditionTrue {
				continue
			}
			switch storagemigrationv1.MigrationConditionType(c.Type) {
			case storagemigrationv1.MigrationRunning, storagemigrationv1.MigrationSucceeded, storagemigrationv1.MigrationFailed:
				status = c.Type
			}
		}
		return []interface{}{svm.Name, svm.Spec.Resource.String(), status}
	}))
}
