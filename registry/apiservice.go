package registry

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
)

// prepareAPIService marks a new local APIService available at once, as
// upstream's strategy does: the API server itself serves it. The APIService
// controller keeps the condition current afterwards.
func prepareAPIService(_ context.Context, obj runtime.Object) {
	s := obj.(*apiregistrationv1.APIService)
	if s.Spec.Service == nil {
		helper.SetAPIServiceCondition(s, helper.NewLocalAvailableAPIServiceCondition())
	}
}
