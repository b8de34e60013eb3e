// Package runtimeclass is the RuntimeClass admission plugin: a new pod that
// names a RuntimeClass gets what the class says about running on it.
//
// The class must exist, or the pod is Forbidden (the informer may lag behind
// a class just created, so a miss is looked up live). In the mutating phase
// the class's overhead becomes the pod's spec.overhead (a pod that already
// sets a different one is Forbidden), its scheduling.nodeSelector is merged
// into the pod's (a key the pod sets to another value is a conflict, and
// Forbidden) and its scheduling.tolerations are merged with the pod's,
// dropping those another toleration already covers. In the validating phase
// the pod's overhead must be exactly the class's, and a pod without a class
// with overhead may set none.
package runtimeclass

import (
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	nodelisters "k8s.io/client-go/listers/node/v1"
)

// PluginName is the plugin's name in the admission chain.
const PluginName = "RuntimeClass"

// Plugin is the RuntimeClass admission plugin.
type Plugin struct {
	*admission.Handler
	client  kubernetes.Interface
	classes nodelisters.RuntimeClassLister
}

var (
	_ admission.MutationInterface                  = (*Plugin)(nil)
	_ admission.ValidationInterface                = (*Plugin)(nil)
	_ admission.InitializationValidator            = (*Plugin)(nil)
	_ initializer.WantsExternalKubeInformerFactory = (*Plugin)(nil)
	_ initializer.WantsExternalKubeClientSet       = (*Plugin)(nil)
)

// New returns the plugin; it needs a client and an informer factory (see
// ValidateInitialization) before it admits anything.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create)}
}

// SetExternalKubeInformerFactory takes the RuntimeClass lister from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	inf := f.Node().V1().RuntimeClasses()
	p.SetReadyFunc(inf.Informer().HasSynced)
	p.classes = inf.Lister()
}

// SetExternalKubeClientSet sets the client live lookups use.
func (p *Plugin) SetExternalKubeClientSet(c kubernetes.Interface) { p.client = c }

// ValidateInitialization reports a missing lister or client.
func (p *Plugin) ValidateInitialization() error {
	if p.classes == nil {
		return errors.New("runtimeclass: missing RuntimeClass lister")
	}
	if p.client == nil {
		return errors.New("runtimeclass: missing client")
	}
	return nil
}

// Admit copies the pod's RuntimeClass overhead and scheduling into the pod.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if ignored(a) {
		return nil
	}
	pod, rc, err := p.podAndClass(ctx, a)
	if err != nil {
		return err
	}
	if err := setOverhead(pod, rc); err != nil {
		return admission.NewForbidden(a, err)
	}
	if err := setScheduling(pod, rc); err != nil {
		return admission.NewForbidden(a, err)
	}
	return nil
}

// Validate checks that the pod's overhead is its RuntimeClass's.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if ignored(a) {
		return nil
	}
	pod, rc, err := p.podAndClass(ctx, a)
	if err != nil {
		return err
	}
	if err := checkOverhead(pod, rc); err != nil {
		return admission.NewForbidden(a, err)
	}
	return nil
}

// ignored: the plugin acts on pods only, not on their subresources.
func ignored(a admission.Attributes) bool {
	return a.GetSubresource() != "" || a.GetResource().GroupResource() != corev1.Resource("pods")
}

// podAndClass returns the request's pod and the RuntimeClass it names (nil
// when it names none), from the informer or, on a miss, the API server.
func (p *Plugin) podAndClass(ctx context.Context, a admission.Attributes) (*corev1.Pod, *nodev1.RuntimeClass, error) {
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return nil, nil, apierrors.NewBadRequest("Resource was marked with kind Pod but was unable to be converted")
	}
	if pod.Spec.RuntimeClassName == nil {
		return pod, nil, nil
	}
	name := *pod.Spec.RuntimeClassName
	rc, err := p.classes.Get(name)
	if apierrors.IsNotFound(err) {
		rc, err = p.client.NodeV1().RuntimeClasses().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return pod, nil, admission.NewForbidden(a, fmt.Errorf("pod rejected: RuntimeClass %q not found", name))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return pod, rc, nil
}

var errOverheadMismatch = errors.New("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")

// setOverhead gives the pod its class's overhead, unless it already sets a
// different one.
func setOverhead(pod *corev1.Pod, rc *nodev1.RuntimeClass) error {
	if rc == nil || rc.Overhead == nil {
		return nil
	}
	fixed := rc.Overhead.PodFixed
	if len(pod.Spec.Overhead) > 0 && !apiequality.Semantic.DeepEqual(fixed, pod.Spec.Overhead) {
		return errOverheadMismatch
	}
	pod.Spec.Overhead = maps.Clone(fixed)
	return nil
}

// checkOverhead: the pod's overhead is exactly its class's, or absent when
// the class defines none.
func checkOverhead(pod *corev1.Pod, rc *nodev1.RuntimeClass) error {
	if rc != nil && rc.Overhead != nil {
		if !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return errOverheadMismatch
		}
		return nil
	}
	if pod.Spec.Overhead != nil {
		return errors.New("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
	}
	return nil
}

// setScheduling merges the class's node selector and tolerations into the
// pod's. A selector key the pod sets differently is a conflict.
func setScheduling(pod *corev1.Pod, rc *nodev1.RuntimeClass) error {
	if rc == nil || rc.Scheduling == nil {
		return nil
	}
	selector := pod.Spec.NodeSelector
	if selector == nil {
		selector = maps.Clone(rc.Scheduling.NodeSelector)
	} else {
		for key, want := range rc.Scheduling.NodeSelector {
			if have, ok := selector[key]; ok && have != want {
				return fmt.Errorf("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", key, want, key, have)
			}
			selector[key] = want
		}
	}
	pod.Spec.NodeSelector = selector
	pod.Spec.Tolerations = mergeTolerations(pod.Spec.Tolerations, rc.Scheduling.Tolerations)
	return nil
}
