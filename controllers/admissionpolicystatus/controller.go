// Package admissionpolicystatus implements upstream's
// validatingadmissionpolicy-status controller: it type-checks the CEL
// expressions of each ValidatingAdmissionPolicy against the schemas of the
// kinds the policy matches, and writes what it found to
// status.typeChecking.expressionWarnings (an expression naming a field the
// kind does not have, a type mismatch), with status.observedGeneration. An
// empty list means every expression checked out; the field's presence means
// the check was done. The checking is k8s.io/apiserver's TypeChecker.
package admissionpolicystatus

import (
	"context"
	"errors"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	admissionregistrationv1apply "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	admissionregistrationinformers "k8s.io/client-go/informers/admissionregistration/v1"
	"k8s.io/client-go/kubernetes"
	admissionregistrationlisters "k8s.io/client-go/listers/admissionregistration/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// Name is the controller's name, and the field manager of the status it
// writes (upstream's).
const Name = "validatingadmissionpolicy-status"

// Checker type-checks a policy's expressions; k8s.io/apiserver's
// validating.TypeChecker is one.
type Checker interface {
	Check(*admissionregistrationv1.ValidatingAdmissionPolicy) []admissionregistrationv1.ExpressionWarning
}

// Config holds what the controller needs. Every field is required.
type Config struct {
	// Client writes the policies' status.
	Client kubernetes.Interface
	// Policies is a shared informer the caller starts.
	Policies admissionregistrationinformers.ValidatingAdmissionPolicyInformer
	// Checker checks the expressions.
	Checker Checker
}

// Controller writes the type-checking status of policies.
type Controller struct {
	client   kubernetes.Interface
	policies admissionregistrationlisters.ValidatingAdmissionPolicyLister
	checker  Checker
	loop     *loop.Loop
}

// New returns a controller whose event handlers are registered on the
// informer; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Policies == nil || cfg.Checker == nil {
		return nil, errors.New("admission policy status: Client, Policies and Checker are required")
	}
	c := &Controller{client: cfg.Client, policies: cfg.Policies.Lister(), checker: cfg.Checker}
	c.loop = loop.New(Name, c.sync)
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.loop.Add(key)
		}
	}
	reg, err := cfg.Policies.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	if err != nil {
		return nil, err
	}
	c.loop.WaitFor(reg.HasSynced)
	return c, nil
}

// Run syncs policies with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// sync checks the policy name unless its status is of its generation
// already.
func (c *Controller) sync(ctx context.Context, name string) error {
	policy, err := c.policies.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if policy.Generation <= policy.Status.ObservedGeneration {
		return nil
	}
	warnings := c.checker.Check(policy)
	found := make([]*admissionregistrationv1apply.ExpressionWarningApplyConfiguration, 0, len(warnings))
	for _, w := range warnings {
		found = append(found, admissionregistrationv1apply.ExpressionWarning().WithFieldRef(w.FieldRef).WithWarning(w.Warning))
	}
	status := admissionregistrationv1apply.ValidatingAdmissionPolicy(name).WithStatus(
		admissionregistrationv1apply.ValidatingAdmissionPolicyStatus().
			WithObservedGeneration(policy.Generation).
			WithTypeChecking(admissionregistrationv1apply.TypeChecking().WithExpressionWarnings(found...)))
	_, err = c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().ApplyStatus(ctx, status, metav1.ApplyOptions{FieldManager: Name, Force: true})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply status of validating admission policy %s: %w", name, err)
	}
	return nil
}
