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
	levels := client.FlowcontrolV1().PriorityLevelConfigurations()
	var ensureLevels []func() error
	for i, want := range append(append([]*flowcontrolv1.PriorityLevelConfiguration{}, apfbootstrap.MandatoryPriorityLevelConfigurations...), apfbootstrap.SuggestedPriorityLevelConfigurations...) {
		mandatory := i < len(apfbootstrap.MandatoryPriorityLevelConfigurations)
		ensureLevels = append(ensureLevels, func() error {
			err := ensureAPFObject(ctx, mandatory, want.DeepCopy(),
				func(ctx context.Context, o *flowcontrolv1.PriorityLevelConfiguration) (*flowcontrolv1.PriorityLevelConfiguration, error) {
					return levels.Create(ctx, o, metav1.CreateOptions{FieldManager: apfFieldManager})
				},
				func(ctx context.Context, name string) (*flowcontrolv1.PriorityLevelConfiguration, error) {
					return levels.Get(ctx, name, metav1.GetOptions{})
				},
				func(ctx context.Context, o *flowcontrolv1.PriorityLevelConfiguration) (*flowcontrolv1.PriorityLevelConfiguration, error) {
					return levels.Update(ctx, o, metav1.UpdateOptions{FieldManager: apfFieldManager})
				},
				func(have, want *flowcontrolv1.PriorityLevelConfiguration) bool {
					if apiequality.Semantic.DeepEqual(have.Spec, want.Spec) {
						return false
					}
					have.Spec = want.Spec
					return true
				})
			if err != nil {
				return fmt.Errorf("priority level %s: %w", want.Name, err)
			}
			return nil
		})
	}
	if err := concurrently(ensureLevels...); err != nil {
		return err
	}
	schemas := client.FlowcontrolV1().FlowSchemas()
	var ensureSchemas []func() error
	for i, want := range append(append([]*flowcontrolv1.FlowSchema{}, apfbootstrap.MandatoryFlowSchemas...), apfbootstrap.SuggestedFlowSchemas...) {
		mandatory := i < len(apfbootstrap.MandatoryFlowSchemas)
		ensureSchemas = append(ensureSchemas, func() error {
			err := ensureAPFObject(ctx, mandatory, want.DeepCopy(),
				func(ctx context.Context, o *flowcontrolv1.FlowSchema) (*flowcontrolv1.FlowSchema, error) {
					return schemas.Create(ctx, o, metav1.CreateOptions{FieldManager: apfFieldManager})
				},
				func(ctx context.Context, name string) (*flowcontrolv1.FlowSchema, error) {
					return schemas.Get(ctx, name, metav1.GetOptions{})
				},
				func(ctx context.Context, o *flowcontrolv1.FlowSchema) (*flowcontrolv1.FlowSchema, error) {
					return schemas.Update(ctx, o, metav1.UpdateOptions{FieldManager: apfFieldManager})
				},
				func(have, want *flowcontrolv1.FlowSchema) bool {
					if apiequality.Semantic.DeepEqual(have.Spec, want.Spec) {
						return false
					}
					have.Spec = want.Spec
					return true
				})
			if err != nil {
				return fmt.Errorf("flow schema %s: %w", want.Name, err)
			}
			return nil
		})
	}
	return concurrently(ensureSchemas...)
}

// apfFieldManager is the field manager of the configuration the server writes.
const apfFieldManager = "api-priority-and-fairness-config-producer-v1"

// ensureAPFObject creates want when it is missing and otherwise brings the
// stored object's spec to want's (copySpec reports whether it had to) when
// the object is mandatory or its autoupdate annotation is "true".
func ensureAPFObject[T interface {
	*E
	metav1.Object
}, E any](ctx context.Context, mandatory bool, want T,
	create func(context.Context, T) (T, error),
	get func(context.Context, string) (T, error),
	update func(context.Context, T) (T, error),
	copySpec func(have, want T) bool,
) error {
	_, err := create(ctx, want)
	if err == nil || !apierrors.IsAlreadyExists(err) {
		return err
	}
	have, err := get(ctx, want.GetName())
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
	_, err = update(ctx, have)
	return err
}
