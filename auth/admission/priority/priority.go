// Package priority is the Priority admission plugin. A new pod's
// spec.priorityClassName is resolved to spec.priority and
// spec.preemptionPolicy from its PriorityClass; a pod without one gets the
// global default class (the lowest-valued one with globalDefault, if several)
// or priority 0 and PreemptLowerPriority. A pod naming an unknown class, or
// giving a priority or preemption policy other than its class's, is
// forbidden. Updates keep the values the pod was created with. A second
// globalDefault PriorityClass is forbidden. Upstream's messages throughout.
package priority

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	schedulinglisters "k8s.io/client-go/listers/scheduling/v1"
)

// PluginName is the plugin's name in the admission chain.
const PluginName = "Priority"

// Plugin is the Priority admission plugin.
type Plugin struct {
	*admission.Handler
	classes schedulinglisters.PriorityClassLister
}

var (
	_ admission.MutationInterface   = (*Plugin)(nil)
	_ admission.ValidationInterface = (*Plugin)(nil)
)

// New returns the plugin; it needs the informer factory before use.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update)}
}

// SetExternalKubeInformerFactory takes the PriorityClass lister.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	informer := f.Scheduling().V1().PriorityClasses()
	p.classes = informer.Lister()
	p.SetReadyFunc(informer.Informer().HasSynced)
}

// ValidateInitialization checks that the lister is set.
func (p *Plugin) ValidateInitialization() error {
	if p.classes == nil {
		return fmt.Errorf("%s: missing PriorityClass lister", PluginName)
	}
	return nil
}

var (
	podResource           = corev1.Resource("pods")
	priorityClassResource = schedulingv1.Resource("priorityclasses")
)

// Admit sets a pod's priority from its class.
func (p *Plugin) Admit(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" || a.GetResource().GroupResource() != podResource {
		return nil
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest("resource was marked with kind Pod but was unable to be converted")
	}
	if a.GetOperation() == admission.Update {
		old, ok := a.GetOldObject().(*corev1.Pod)
		if !ok {
			return apierrors.NewBadRequest("resource was marked with kind Pod but was unable to be converted")
		}
		// Priority is immutable; a client that left it out keeps the old one.
		if pod.Spec.Priority == nil {
			pod.Spec.Priority = old.Spec.Priority
		}
		if pod.Spec.PreemptionPolicy == nil {
			pod.Spec.PreemptionPolicy = old.Spec.PreemptionPolicy
		}
		return nil
	}
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	name, value, policy, err := p.resolve(a, pod.Spec.PriorityClassName)
	if err != nil {
		return err
	}
	pod.Spec.PriorityClassName = name
	if pod.Spec.Priority != nil && *pod.Spec.Priority != value {
		return admission.NewForbidden(a, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, value))
	}
	pod.Spec.Priority = &value
	if policy != nil {
		if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != *policy {
			return admission.NewForbidden(a, fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, *policy))
		}
		pod.Spec.PreemptionPolicy = policy
	}
	return nil
}

// resolve returns the class name, priority and preemption policy for a pod
// naming class (empty: the global default).
func (p *Plugin) resolve(a admission.Attributes, class string) (string, int32, *corev1.PreemptionPolicy, error) {
	if class == "" {
		def, err := p.globalDefault()
		if err != nil {
			return "", 0, nil, fmt.Errorf("error occurred while retrieving default priority class: %w", err)
		}
		if def == nil {
			lower := corev1.PreemptLowerPriority
			return "", 0, &lower, nil
		}
		return def.Name, def.Value, copyPolicy(def.PreemptionPolicy), nil
	}
	pc, err := p.classes.Get(class)
	if apierrors.IsNotFound(err) {
		return "", 0, nil, admission.NewForbidden(a, fmt.Errorf("no PriorityClass with name %v was found", class))
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("failed to resolve PriorityClass with name %s: %w", class, err)
	}
	return class, pc.Value, copyPolicy(pc.PreemptionPolicy), nil
}

func copyPolicy(p *corev1.PreemptionPolicy) *corev1.PreemptionPolicy {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// globalDefault is the lowest-valued class marked globalDefault, or nil.
func (p *Plugin) globalDefault() (*schedulingv1.PriorityClass, error) {
	list, err := p.classes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var def *schedulingv1.PriorityClass
	for _, pc := range list {
		if pc.GlobalDefault && (def == nil || pc.Value < def.Value) {
			def = pc
		}
	}
	return def, nil
}

// Validate forbids a second global default PriorityClass.
func (p *Plugin) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" || a.GetResource().GroupResource() != priorityClassResource {
		return nil
	}
	pc, ok := a.GetObject().(*schedulingv1.PriorityClass)
	if !ok {
		return apierrors.NewBadRequest("resource was marked with kind PriorityClass but was unable to be converted")
	}
	if !pc.GlobalDefault {
		return nil
	}
	def, err := p.globalDefault()
	if err != nil {
		return fmt.Errorf("failed to get default priority class: %v", err)
	}
	if def != nil && (a.GetOperation() == admission.Create || def.Name != pc.Name) {
		return admission.NewForbidden(a, fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", def.Name))
	}
	return nil
}
