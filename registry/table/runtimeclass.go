package table

import (
	"time"

	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
)

// RuntimeClasses returns the table convertor for node.k8s.io runtime
// classes: Name, Handler, Age.
func RuntimeClasses() rest.TableConvertor {
	columns := []metav1.TableColumnDefinition{
		nameColumn(),
		column("Handler", nodev1.RuntimeClass{}.SwaggerDoc()["handler"]),
		ageColumn(),
	}
	return newConvertor(columns, cells(func(rc *nodev1.RuntimeClass, now time.Time) []interface{} {
		return []interface{}{rc.Name, rc.Handler, age(rc.CreationTimestamp, now)}
	}))
}
