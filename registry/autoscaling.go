package registry

import (
	"context"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubelite/kubelite/apis"
)

// prepareHorizontalPodAutoscaler drops the annotations in which autoscaling/v1
// carries v2's fields: they belong to the conversion to v1, which writes them
// afresh from the stored v2 object, and upstream drops them from v2 writes too.
func prepareHorizontalPodAutoscaler(_ context.Context, obj runtime.Object) {
	hpa := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	hpa.Annotations = apis.DropHPARoundTripAnnotations(hpa.Annotations)
}

func prepareHorizontalPodAutoscalerUpdate(obj, _ runtime.Object) {
	prepareHorizontalPodAutoscaler(context.Background(), obj)
}
