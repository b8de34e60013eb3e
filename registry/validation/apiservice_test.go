package validation

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

func validAPIService() *apiregistrationv1.APIService {
	return &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.metrics.k8s.io", ResourceVersion: "1"},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: "metrics.k8s.io", Version: "v1beta1",
			Service:              &apiregistrationv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server", Port: ptr[int32](443)},
			GroupPriorityMinimum: 100, VersionPriority: 100,
			InsecureSkipTLSVerify: true,
		},
	}
}

func TestAPIService(t *testing.T) {
	local := func(s *apiregistrationv1.APIService) {
		s.Spec.Service, s.Spec.InsecureSkipTLSVerify = nil, false
	}
	tests := []struct {
		name   string
		mutate func(s *apiregistrationv1.APIService)
		want   []string
	}{
		{name: "valid", mutate: func(*apiregistrationv1.APIService) {}},
		{name: "valid local", mutate: local},
		{name: "core group", mutate: func(s *apiregistrationv1.APIService) {
			local(s)
			s.Name, s.Spec.Group, s.Spec.Version = "v1.", "", "v1"
		}},
		{name: "name must be version.group", mutate: func(s *apiregistrationv1.APIService) { s.Name = "metrics" },
			want: []string{"FieldValueInvalid metadata.name"}},
		{name: "empty group needs v1", mutate: func(s *apiregistrationv1.APIService) {
			s.Name, s.Spec.Group, s.Spec.Version = "v2.", "", "v2"
		}, want: []string{"FieldValueRequired spec.group"}},
		{name: "bad group", mutate: func(s *apiregistrationv1.APIService) {
			s.Name, s.Spec.Group = "v1beta1.Metrics", "Metrics"
		}, want: []string{"FieldValueInvalid spec.group"}},
		{name: "bad version", mutate: func(s *apiregistrationv1.APIService) {
			s.Name, s.Spec.Version = "1beta.metrics.k8s.io", "1beta"
		}, want: []string{"FieldValueInvalid spec.version"}},
		{name: "group priority", mutate: func(s *apiregistrationv1.APIService) { s.Spec.GroupPriorityMinimum = 20001 },
			want: []string{"FieldValueInvalid spec.groupPriorityMinimum"}},
		{name: "version priority", mutate: func(s *apiregistrationv1.APIService) { s.Spec.VersionPriority = 0 },
			want: []string{"FieldValueInvalid spec.versionPriority"}},
		{name: "local with a CA bundle", mutate: func(s *apiregistrationv1.APIService) {
			local(s)
			s.Spec.CABundle = []byte("x")
		}, want: []string{"FieldValueInvalid spec.caBundle"}},
		{name: "local skipping TLS verification", mutate: func(s *apiregistrationv1.APIService) {
			local(s)
			s.Spec.InsecureSkipTLSVerify = true
		}, want: []string{"FieldValueInvalid spec.insecureSkipTLSVerify"}},
		{name: "service without namespace, name and port", mutate: func(s *apiregistrationv1.APIService) {
			s.Spec.Service = &apiregistrationv1.ServiceReference{}
		}, want: []string{"FieldValueRequired spec.service.namespace", "FieldValueRequired spec.service.name", "FieldValueRequired spec.service.port"}},
		{name: "bad port", mutate: func(s *apiregistrationv1.APIService) { s.Spec.Service.Port = ptr[int32](70000) },
			want: []string{"FieldValueInvalid spec.service.port"}},
		{name: "CA bundle and skipping verification", mutate: func(s *apiregistrationv1.APIService) { s.Spec.CABundle = []byte("x") },
			want: []string{"FieldValueInvalid spec.insecureSkipTLSVerify"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validAPIService()
			tc.mutate(s)
			checkErrs(t, APIService(s), tc.want)
		})
	}
}

func TestAPIServiceStatusUpdate(t *testing.T) {
	old := validAPIService()
	s := old.DeepCopy()
	s.Status.Conditions = []apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: "Maybe"}}
	checkErrs(t, APIServiceStatusUpdate(s, old), []string{"FieldValueNotSupported status.conditions[0].status"})
	s.Status.Conditions[0].Status = apiregistrationv1.ConditionFalse
	checkErrs(t, APIServiceStatusUpdate(s, old), nil)
}
