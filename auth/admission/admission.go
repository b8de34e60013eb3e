// Package admission assembles kubelite's admission chain from the built-in
// plugins, in upstream's order: NamespaceLifecycle, LimitRanger,
// ServiceAccount, DefaultTolerationSeconds, DefaultStorageClass,
// StorageObjectInUseProtection, RuntimeClass, ResourceQuota. The chain runs every plugin's mutating phase
// in that order, then, after the object's validation, every plugin's
// validating phase.
//
// The plugins themselves live in the sub-packages (the namespace lifecycle
// plugin is k8s.io/apiserver's). Each reads what it needs from informers of
// the shared factory given here; the caller starts the factory once the
// server is up. Where an informer may lag behind a write, the plugins look
// the object up through the client, as upstream's do.
package admission

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/kubelite/kubelite/auth/admission/defaulttolerationseconds"
	"github.com/kubelite/kubelite/auth/admission/limitranger"
	"github.com/kubelite/kubelite/auth/admission/resourcequota"
	"github.com/kubelite/kubelite/auth/admission/runtimeclass"
	"github.com/kubelite/kubelite/auth/admission/serviceaccount"
	"github.com/kubelite/kubelite/auth/admission/storage"
)

// Config holds what the plugins need. Every field is required.
type Config struct {
	// Client reaches the API server, for the plugins' live lookups.
	Client kubernetes.Interface
	// Informers is the shared factory the plugins take their listers from.
	Informers informers.SharedInformerFactory
	// Drained is closed once the server has drained its requests on
	// shutdown; plugins with workers (ResourceQuota) stop then.
	Drained <-chan struct{}
}

// plugin is one named plugin of the chain.
type plugin struct {
	name string
	admission.Interface
}

// plugins returns the built-in plugins, initialized, in chain order.
func plugins(cfg Config) ([]plugin, error) {
	if cfg.Client == nil || cfg.Informers == nil || cfg.Drained == nil {
		return nil, fmt.Errorf("admission: Client, Informers and Drained are required")
	}
	nsLifecycle, err := lifecycle.NewLifecycle(sets.New(metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic))
	if err != nil {
		return nil, err
	}
	quota, err := resourcequota.New(cfg.Drained)
	if err != nil {
		return nil, err
	}
	chain := []plugin{
		{lifecycle.PluginName, nsLifecycle},
		{limitranger.PluginName, limitranger.New()},
		{serviceaccount.PluginName, serviceaccount.New()},
		{defaulttolerationseconds.PluginName, defaulttolerationseconds.New()},
		{storage.DefaultClassPluginName, storage.NewDefaultClass()},
		{storage.ProtectionPluginName, storage.NewProtection()},
		{runtimeclass.PluginName, runtimeclass.New()},
		{resourcequota.PluginName, quota},
	}
	init := initializer.New(cfg.Client, nil, cfg.Informers, nil, nil, nil, cfg.Drained, nil)
	for _, p := range chain {
		init.Initialize(p.Interface)
		if v, ok := p.Interface.(admission.InitializationValidator); ok {
			if err := v.ValidateInitialization(); err != nil {
				return nil, fmt.Errorf("admission plugin %s: %w", p.name, err)
			}
		}
	}
	return chain, nil
}

// New returns the admission chain of the built-in plugins.
func New(cfg Config) (admission.Interface, error) {
	named, err := plugins(cfg)
	if err != nil {
		return nil, err
	}
	chain := make([]admission.Interface, len(named))
	for i, p := range named {
		chain[i] = p.Interface
	}
	return admission.NewChainHandler(chain...), nil
}
