package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

func TestAPIServices(t *testing.T) {
	testColumns(t, []columnCase{
		{"apiservices", APIServices(), []col{str("Name"), str("Service"), str("Available"), str("Age")}},
	})
	created := ago(time.Hour)
	for _, tc := range []struct {
		name string
		in   apiregistrationv1.APIService
		want []interface{}
	}{
		{
			name: "local",
			in: apiregistrationv1.APIService{
				ObjectMeta: metav1.ObjectMeta{Name: "v1.apps", CreationTimestamp: created},
				Status: apiregistrationv1.APIServiceStatus{Conditions: []apiregistrationv1.APIServiceCondition{
					{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue, Reason: "Local"},
				}},
			},
			want: []interface{}{"v1.apps", "Local", "True", "60m"},
		},
		{
			name: "missing service",
			in: apiregistrationv1.APIService{
				ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.metrics.k8s.io", CreationTimestamp: created},
				Spec:       apiregistrationv1.APIServiceSpec{Service: &apiregistrationv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server"}},
				Status: apiregistrationv1.APIServiceStatus{Conditions: []apiregistrationv1.APIServiceCondition{
					{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionFalse, Reason: "ServiceNotFound"},
				}},
			},
			want: []interface{}{"v1beta1.metrics.k8s.io", "kube-system/metrics-server", "False (ServiceNotFound)", "60m"},
		},
		{
			name: "no condition yet",
			in:   apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1.x", CreationTimestamp: created}},
			want: []interface{}{"v1.x", "Local", "Unknown", "60m"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := rowOf(t, APIServices(), &tc.in)
			if diff := cmp.Diff(tc.want, row.Cells); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}
