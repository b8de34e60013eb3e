package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRuntimeClasses(t *testing.T) {
	testColumns(t, []columnCase{
		{"runtimeclasses", RuntimeClasses(), []col{str("Name"), str("Handler"), str("Age")}},
	})
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor", CreationTimestamp: ago(time.Hour)}, Handler: "runsc"}
	row := rowOf(t, RuntimeClasses(), rc)
	if diff := cmp.Diff([]interface{}{"gvisor", "runsc", "60m"}, row.Cells); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}
}
