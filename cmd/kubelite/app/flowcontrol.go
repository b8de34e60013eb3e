package app

import (
	"context"
	"fmt"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apfbootstrap "k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/client-go/kubernetes"
)

// ensureFlowControl creates upstream's API priority and fairness
// configuration: the mandatory exempt and catch-all priority levels and flow
// schemas, whose spec it restores whenever it differs, and the suggested
// ones, which it keeps up to date while their
// apf.kubernetes.io/autoupdate-spec annotation is "true". The API server's
// priority and fairness filter (apiserver.go) enforces it. The priority
// levels are written at once, then the flow schemas that refer to them.
func ensureFlowControl(ctx context.Context, client kubernetes.Interface) error {
	fc := client.FlowcontrolV1()
	err := ensureAPFObjects(ctx, "priority level", fc.PriorityLevelConfigurations(),
		apfbootstrap.MandatoryPriorityLevelConfigurations, apfbootstrap.SuggestedPriorityLevelConfigurations,
		func(o *flowcontrolv1.PriorityLevelConfiguration) *flowcontrolv1.PriorityLevelConfigurationSpec {
			return &o.Spec
		})
	if err != nil {
		return err
	}
	return ensureAPFObjects(ctx, "flow schema", fc.FlowSchemas(),
		apfbootstrap.MandatoryFlowSchemas, apfbootstrap.SuggestedFlowSchemas,
		func(o *flowcontrolv1.FlowSchema) *flowcontrolv1.FlowSchemaSpec { return &o.Spec })
}

// apfClient is the typed client of one kind of APF object.
type apfClient[T any] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
	Get(context.Context, string, metav1.GetOptions) (T, error)
	Update(context.Context, T, metav1.UpdateOptions) (T, error)
}

// ensureAPFObjects runs ensureAPFObject for the mandatory and the suggested
// objects of one kind, all at once; spec is an object's spec.
func ensureAPFObjects[T interface {
	*E
	metav1.Object
	DeepCopy() T
}, E, S any](ctx context.Context, kind string, c apfClient[T], mandatory, suggested []T, spec func(T) *S) error {
	// copySpec gives have want's spec and reports whether it differed.
	copySpec := func(have, want T) bool {
		if apiequality.Semantic.DeepEqual(*spec(have), *spec(want)) {
			return false
		}
		*spec(have) = *spec(want)
		return true
	}
	var ensure []func() error
	for i, want := range append(append([]T{}, mandatory...), suggested...) {
		ensure = append(ensure, func() error {
			if err := ensureAPFObject(ctx, i < len(mandatory), want.DeepCopy(), c, copySpec); err != nil {
				return fmt.Errorf("%s %s: %w", kind, want.GetName(), err)
			}
			return nil
		})
	}
	return concurrently(ensure...)
}

// apfFieldManager is the field manager of the configuration the server writes.
const apfFieldManager = "api-priority-and-fairness-config-producer-v1"

// ensureAPFObject creates want when it is missing and otherwise brings the
// stored object's spec to want's (copySpec reports whether it had to) when
// the object is mandatory or its autoupdate annotation is "true".
func ensureAPFObject[T interface {
	*E
	metav1.Object
}, E any](ctx context.Context, mandatory bool, want T, c apfClient[T], copySpec func(have, want T) bool) error {
	_, err := c.Create(ctx, want, metav1.CreateOptions{FieldManager: apfFieldManager})
	if err == nil || !apierrors.IsAlreadyExists(err) {
		return err
	}
	have, err := c.Get(ctx, want.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !mandatory && have.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
		return nil
	}
	changed := copySpec(have, want)
	if have.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
		a := have.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[flowcontrolv1.AutoUpdateAnnotationKey] = "true"
		have.SetAnnotations(a)
		changed = true
	}
	if !changed {
		return nil
	}
	_, err = c.Update(ctx, have, metav1.UpdateOptions{FieldManager: apfFieldManager})
	return err
}
