// Package admission assembles kubelite's admission chain in upstream's
// order (kube-apiserver's AllOrderedPlugins, those kubelite enables):
// NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction,
// TaintNodesByCondition, PodSecurity, Priority, DefaultTolerationSeconds,
// DefaultStorageClass, StorageObjectInUseProtection, RuntimeClass,
// MutatingAdmissionPolicy, MutatingAdmissionWebhook,
// ValidatingAdmissionPolicy, ValidatingAdmissionWebhook, ResourceQuota. The
// chain runs every plugin's mutating phase in that order, then, after the
// object's validation, every plugin's validating phase.
//
// The built-in plugins live in the sub-packages; the namespace lifecycle,
// webhook and policy plugins are k8s.io/apiserver's, PodSecurity's checks
// k8s.io/pod-security-admission's. Each reads what it needs from informers of
// the shared factory given here; the caller starts the factory once the
// server is up. Where an informer may lag behind a write, the plugins look
// the object up through the client, as upstream's do.
package admission

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	mutatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	webhookinit "k8s.io/apiserver/pkg/admission/plugin/webhook/initializer"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/component-base/featuregate"

	"github.com/kubelite/kubelite/auth/admission/defaulttolerationseconds"
	"github.com/kubelite/kubelite/auth/admission/limitranger"
	"github.com/kubelite/kubelite/auth/admission/noderestriction"
	"github.com/kubelite/kubelite/auth/admission/nodetaint"
	"github.com/kubelite/kubelite/auth/admission/podsecurity"
	"github.com/kubelite/kubelite/auth/admission/priority"
	"github.com/kubelite/kubelite/auth/admission/resourcequota"
	"github.com/kubelite/kubelite/auth/admission/runtimeclass"
	"github.com/kubelite/kubelite/auth/admission/serviceaccount"
	"github.com/kubelite/kubelite/auth/admission/storage"
)

// Config holds what the plugins need. Every field is required unless said
// otherwise.
type Config struct {
	// Client reaches the API server, for the plugins' live lookups; Dynamic
	// too, for the policies' parameter objects.
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// Informers is the shared factory the plugins take their listers from.
	Informers informers.SharedInformerFactory
	// Authorizer answers the policies' authorizer checks.
	Authorizer authorizer.Authorizer
	// RESTMapper maps the policies' resources and parameter kinds.
	RESTMapper meta.RESTMapper
	// ServiceResolver finds the endpoint of a webhook's Service;
	// AuthResolver gives the credentials and transport to reach it.
	ServiceResolver webhook.ServiceResolver
	AuthResolver    webhook.AuthenticationInfoResolverWrapper
	// EffectiveVersion is the Kubernetes version served.
	EffectiveVersion basecompatibility.EffectiveVersion
	// Features are the feature gates; nil: the process's default gates.
	Features featuregate.FeatureGate
	// APIServerID names this API server in the policies' metrics; optional.
	APIServerID string
	// Drained is closed once the server has drained its requests on
	// shutdown; plugins with workers (ResourceQuota, the policies) stop then.
	Drained <-chan struct{}
}

// excluded are the review resources, which store nothing: no webhook or
// policy sees them (upstream's exclusion list).
var excluded = []schema.GroupResource{
	{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"},
	{Group: "authentication.k8s.io", Resource: "tokenreviews"},
	{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"},
	{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"},
	{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"},
	{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"},
}

// excludedInitializer hands the plugins that want it the exclusion list.
type excludedInitializer struct{}

func (excludedInitializer) Initialize(p admission.Interface) {
	if w, ok := p.(initializer.WantsExcludedAdmissionResources); ok {
		w.SetExcludedAdmissionResources(excluded)
	}
}

// plugin is one named plugin of the chain.
type plugin struct {
	name string
	admission.Interface
}

// plugins returns the plugins, initialized, in chain order.
func plugins(cfg Config) ([]plugin, error) {
	if cfg.Client == nil || cfg.Dynamic == nil || cfg.Informers == nil || cfg.Authorizer == nil || cfg.RESTMapper == nil ||
		cfg.ServiceResolver == nil || cfg.AuthResolver == nil || cfg.EffectiveVersion == nil || cfg.Drained == nil {
		return nil, fmt.Errorf("admission: Client, Dynamic, Informers, Authorizer, RESTMapper, ServiceResolver, AuthResolver, EffectiveVersion and Drained are required")
	}
	if cfg.Features == nil {
		cfg.Features = utilfeature.DefaultFeatureGate
	}
	nsLifecycle, err := lifecycle.NewLifecycle(sets.New(metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic))
	if err != nil {
		return nil, err
	}
	podSecurity, err := podsecurity.New()
	if err != nil {
		return nil, err
	}
	quota, err := resourcequota.New(cfg.Drained)
	if err != nil {
		return nil, err
	}
	// The dynamic plugins read no configuration file: upstream's defaults.
	mutatingPolicy, err := mutatingpolicy.NewPlugin(nil)
	if err != nil {
		return nil, err
	}
	mutatingHook, err := mutatingwebhook.NewMutatingWebhook(nil)
	if err != nil {
		return nil, err
	}
	validatingPolicy, err := validatingpolicy.NewPlugin(nil)
	if err != nil {
		return nil, err
	}
	validatingHook, err := validatingwebhook.NewValidatingAdmissionWebhook(nil)
	if err != nil {
		return nil, err
	}
	chain := []plugin{
		{lifecycle.PluginName, nsLifecycle},
		{limitranger.PluginName, limitranger.New()},
		{serviceaccount.PluginName, serviceaccount.New()},
		{noderestriction.PluginName, noderestriction.New()},
		{nodetaint.PluginName, nodetaint.New()},
		{podsecurity.PluginName, podSecurity},
		{priority.PluginName, priority.New()},
		{defaulttolerationseconds.PluginName, defaulttolerationseconds.New()},
		{storage.DefaultClassPluginName, storage.NewDefaultClass()},
		{storage.ProtectionPluginName, storage.NewProtection()},
		{runtimeclass.PluginName, runtimeclass.New()},
		{mutatingpolicy.PluginName, mutatingPolicy},
		{mutatingwebhook.PluginName, mutatingHook},
		{validatingpolicy.PluginName, validatingPolicy},
		{validatingwebhook.PluginName, validatingHook},
		{resourcequota.PluginName, quota},
	}
	inits := admission.PluginInitializers{
		initializer.NewAPIServerIDInitializer(cfg.APIServerID),
		initializer.New(cfg.Client, cfg.Dynamic, cfg.Informers, cfg.Authorizer, cfg.Features, cfg.EffectiveVersion, cfg.Drained, cfg.RESTMapper),
		webhookinit.NewPluginInitializer(cfg.AuthResolver, cfg.ServiceResolver),
		excludedInitializer{},
	}
	for _, p := range chain {
		inits.Initialize(p.Interface)
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
