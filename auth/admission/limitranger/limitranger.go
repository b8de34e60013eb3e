// Package limitranger is the LimitRanger admission plugin: the LimitRanges of
// a namespace give its new pods' containers default requests and limits, and
// bound what pods and persistent volume claims may ask for.
//
// In the mutating phase a pod being created gets, for each container and init
// container, the default (as limits) and defaultRequest (as requests) of every
// LimitRange item of type Container, for the resources it does not set, and
// the annotation kubernetes.io/limit-ranger says what was set. In the
// validating phase the min, max and maxLimitRequestRatio of Container items
// apply to each container, those of Pod items to the pod's totals, and the
// min and max of PersistentVolumeClaim items to a claim's storage request;
// a violation is a Forbidden error listing every broken bound.
//
// Pod updates are not checked, as upstream: containers' resources cannot
// change on update, except through the resize subresource, which is.
// Objects being deleted are not checked either.
//
// LimitRanges come from an informer. When it holds none for the namespace
// (it may lag behind a LimitRange just created), the plugin lists them from
// the API server and remembers the answer for 30 seconds, as upstream does.
package limitranger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"
)

const (
	// PluginName is the plugin's name in the admission chain.
	PluginName = "LimitRanger"
	// Annotation records on a pod which defaults the plugin set.
	Annotation = "kubernetes.io/limit-ranger"

	// liveTTL is how long a live lookup's answer stands in for the informer.
	liveTTL = 30 * time.Second
	// liveEntries bounds the number of namespaces whose live answer is kept.
	liveEntries = 10000
)

// Plugin is the LimitRanger admission plugin.
type Plugin struct {
	*admission.Handler
	client kubernetes.Interface
	lister corelisters.LimitRangeLister
	clock  clock.PassiveClock

	// live holds recent live lookups by namespace (liveEntry values); group
	// makes concurrent lookups of one namespace share a request.
	live  *lru.Cache
	group singleflight.Group
}

type liveEntry struct {
	expires time.Time
	items   []*corev1.LimitRange
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
	return &Plugin{
		Handler: admission.NewHandler(admission.Create, admission.Update),
		clock:   clock.RealClock{},
		live:    lru.New(liveEntries),
	}
}

// SetExternalKubeInformerFactory takes the LimitRange lister from f.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	inf := f.Core().V1().LimitRanges()
	p.SetReadyFunc(inf.Informer().HasSynced)
	p.lister = inf.Lister()
}

// SetExternalKubeClientSet sets the client live lookups use.
func (p *Plugin) SetExternalKubeClientSet(c kubernetes.Interface) { p.client = c }

// ValidateInitialization reports a missing lister or client.
func (p *Plugin) ValidateInitialization() error {
	if p.lister == nil {
		return errors.New("limitranger: missing LimitRange lister")
	}
	if p.client == nil {
		return errors.New("limitranger: missing client")
	}
	return nil
}

// Admit gives a new pod's containers the defaults of the namespace's
// LimitRanges.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	return p.run(ctx, a, func(lr *corev1.LimitRange, obj any) error {
		if pod, ok := obj.(*corev1.Pod); ok {
			applyDefaults(pod, defaults(lr))
		}
		return nil
	})
}

// Validate rejects a pod or claim that breaks a bound of the namespace's
// LimitRanges.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	return p.run(ctx, a, func(lr *corev1.LimitRange, obj any) error {
		switch o := obj.(type) {
		case *corev1.Pod:
			return checkPod(lr, o)
		case *corev1.PersistentVolumeClaim:
			return checkPersistentVolumeClaim(lr, o)
		}
		return nil
	})
}

// run applies fn with each of the namespace's LimitRanges to the object of
// a request the plugin handles.
func (p *Plugin) run(ctx context.Context, a admission.Attributes, fn func(*corev1.LimitRange, any) error) error {
	if !handles(a) {
		return nil
	}
	if old := a.GetOldObject(); old != nil {
		m, err := meta.Accessor(old)
		if err != nil {
			return admission.NewForbidden(a, err)
		}
		if m.GetDeletionTimestamp() != nil {
			return nil
		}
	}
	items, err := p.limitRanges(ctx, a)
	if err != nil {
		return err
	}
	for _, lr := range items {
		if err := fn(lr, a.GetObject()); err != nil {
			return admission.NewForbidden(a, err)
		}
	}
	return nil
}

// handles reports whether the request is one the plugin acts on: pods being
// created or resized, and claims being created or updated.
func handles(a admission.Attributes) bool {
	kind := a.GetKind().GroupKind()
	pod := kind.Group == "" && kind.Kind == "Pod"
	pvc := kind.Group == "" && kind.Kind == "PersistentVolumeClaim"
	switch sub := a.GetSubresource(); {
	case sub == "resize":
		return pod && a.GetOperation() == admission.Update
	case sub != "":
		return false
	case pod:
		// Containers cannot change on an update: there is nothing to default
		// or check.
		return a.GetOperation() == admission.Create
	}
	return pvc
}

// limitRanges returns the namespace's LimitRanges from the informer or, when
// it has none, from a recent or new live lookup.
func (p *Plugin) limitRanges(ctx context.Context, a admission.Attributes) ([]*corev1.LimitRange, error) {
	ns := a.GetNamespace()
	items, err := p.lister.LimitRanges(ns).List(labels.Everything())
	if err != nil {
		return nil, admission.NewForbidden(a, fmt.Errorf("unable to %s %v at this time because there was an error enforcing limit ranges", a.GetOperation(), a.GetResource()))
	}
	if len(items) > 0 {
		return items, nil
	}
	if v, ok := p.live.Get(ns); ok && v.(liveEntry).expires.After(p.clock.Now()) {
		return v.(liveEntry).items, nil
	}
	v, err, _ := p.group.Do(ns, func() (any, error) {
		list, err := p.client.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, admission.NewForbidden(a, err)
		}
		e := liveEntry{expires: p.clock.Now().Add(liveTTL)}
		for i := range list.Items {
			e.items = append(e.items, &list.Items[i])
		}
		p.live.Add(ns, e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(liveEntry).items, nil
}
