// Package admission assembles kubelite's admission chain in upstream's
// order (kube-apiserver's AllOrderedPlugins, those kubelite enables):
// NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction,
// TaintNodesByCondition, PodSecurity, Priority, DefaultTolerationSeconds,
// DefaultStorageClass, StorageObjectInUseProtection, RuntimeClass,
// CertificateApproval, CertificateSigning, CertificateSubjectRestriction,
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
	"errors"
	"fmt"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle"
	mutatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	validatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	webhookinit "k8s.io/apiserver/pkg/admission/plugin/webhook/initializer"
	mutatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	validatingwebhook "k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	apiserverapi "k8s.io/apiserver/pkg/apis/apiserver"
	apiserverapiv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	apiserverapiv1alpha1 "k8s.io/apiserver/pkg/apis/apiserver/v1alpha1"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/component-base/featuregate"

	"github.com/kubelite/kubelite/auth/admission/certificates"
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
	// ConfigFile is an AdmissionConfiguration (apiserver.config.k8s.io),
	// upstream's --admission-control-config-file: the configuration of each
	// plugin, inline or in a file of its own. PodSecurity (its defaults and
	// exemptions), the webhooks (their kubeConfigFile) and the admission
	// policies read theirs; the others have none. Empty: defaults.
	ConfigFile string
	// Disabled names plugins not to run (--disable-admission-plugins).
	// Empty: all of them.
	Disabled []string
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

// builtin is one plugin kubelite knows: its name, and how to make it from
// its configuration (nil: none given), which only some plugins read.
type builtin struct {
	name string
	make func(cfg Config, config io.Reader) (admission.Interface, error)
}

// noConfig adapts a plugin that reads no configuration.
func noConfig[P admission.Interface](f func() P) func(Config, io.Reader) (admission.Interface, error) {
	return func(Config, io.Reader) (admission.Interface, error) { return f(), nil }
}

// withConfig adapts a plugin that reads its configuration.
func withConfig[P admission.Interface](f func(io.Reader) (P, error)) func(Config, io.Reader) (admission.Interface, error) {
	return func(_ Config, r io.Reader) (admission.Interface, error) { return f(r) }
}

// builtins are kubelite's plugins in chain order (a static table).
var builtins = []builtin{
	{lifecycle.PluginName, func(Config, io.Reader) (admission.Interface, error) {
		return lifecycle.NewLifecycle(sets.New(metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic))
	}},
	{limitranger.PluginName, noConfig(limitranger.New)},
	{serviceaccount.PluginName, noConfig(serviceaccount.New)},
	{noderestriction.PluginName, noConfig(noderestriction.New)},
	{nodetaint.PluginName, noConfig(nodetaint.New)},
	{podsecurity.PluginName, withConfig(podsecurity.New)},
	{priority.PluginName, noConfig(priority.New)},
	{defaulttolerationseconds.PluginName, noConfig(defaulttolerationseconds.New)},
	{storage.DefaultClassPluginName, noConfig(storage.NewDefaultClass)},
	{storage.ProtectionPluginName, noConfig(storage.NewProtection)},
	{runtimeclass.PluginName, noConfig(runtimeclass.New)},
	{certificates.ApprovalPluginName, noConfig(certificates.NewApproval)},
	{certificates.SigningPluginName, noConfig(certificates.NewSigning)},
	{certificates.SubjectRestrictionPluginName, noConfig(certificates.NewSubjectRestriction)},
	{mutatingpolicy.PluginName, withConfig(mutatingpolicy.NewPlugin)},
	{mutatingwebhook.PluginName, withConfig(mutatingwebhook.NewMutatingWebhook)},
	{validatingpolicy.PluginName, withConfig(validatingpolicy.NewPlugin)},
	{validatingwebhook.PluginName, withConfig(validatingwebhook.NewValidatingAdmissionWebhook)},
	{resourcequota.PluginName, func(cfg Config, _ io.Reader) (admission.Interface, error) { return resourcequota.New(cfg.Drained) }},
}

// PluginNames are the names of the plugins kubelite has, in chain order.
func PluginNames() []string {
	names := make([]string, len(builtins))
	for i, b := range builtins {
		names[i] = b.name
	}
	return names
}

// ValidatePlugins checks the names of --enable-admission-plugins and
// --disable-admission-plugins, as upstream: each must be known, none in
// both.
func ValidatePlugins(enable, disable []string) error {
	var errs []error
	known := sets.New(PluginNames()...)
	for _, flag := range []struct {
		name  string
		names []string
	}{{"enable-admission-plugins", enable}, {"disable-admission-plugins", disable}} {
		for _, n := range flag.names {
			if !known.Has(n) {
				errs = append(errs, fmt.Errorf("%s plugin %q is unknown", flag.name, n))
			}
		}
	}
	if both := sets.New(enable...).Intersection(sets.New(disable...)); both.Len() > 0 {
		errs = append(errs, fmt.Errorf("%v in enable-admission-plugins and disable-admission-plugins overlapped", sets.List(both)))
	}
	return errors.Join(errs...)
}

// configScheme decodes AdmissionConfiguration files.
func configScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(apiserverapi.AddToScheme(s))
	utilruntime.Must(apiserverapiv1alpha1.AddToScheme(s))
	utilruntime.Must(apiserverapiv1.AddToScheme(s))
	return s
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
	if err := ValidatePlugins(nil, cfg.Disabled); err != nil {
		return nil, err
	}
	provider, err := admission.ReadAdmissionConfiguration(PluginNames(), cfg.ConfigFile, configScheme())
	if err != nil {
		return nil, fmt.Errorf("--admission-control-config-file: %w", err)
	}
	var chain []plugin
	for _, b := range builtins {
		if slices.Contains(cfg.Disabled, b.name) {
			continue
		}
		config, err := provider.ConfigFor(b.name)
		if err != nil {
			return nil, fmt.Errorf("admission plugin %s: configuration: %w", b.name, err)
		}
		p, err := b.make(cfg, config)
		if err != nil {
			return nil, fmt.Errorf("admission plugin %s: %w", b.name, err)
		}
		chain = append(chain, plugin{b.name, p})
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
