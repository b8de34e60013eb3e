package app

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/wait"
	apiadmission "k8s.io/apiserver/pkg/admission"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/restmapper"

	"github.com/kubelite/kubelite/auth/admission"
)

// AdmissionConfig chooses and configures the admission plugins, with
// upstream's flags. Zero: every plugin kubelite has, with its defaults.
type AdmissionConfig struct {
	// ConfigFile is an AdmissionConfiguration file
	// (--admission-control-config-file).
	ConfigFile string
	// Enable and Disable name plugins to turn on and off
	// (--enable-admission-plugins, --disable-admission-plugins). kubelite
	// runs all of its plugins unless disabled (upstream leaves
	// NodeRestriction off by default), so Enable only checks its names.
	Enable, Disable []string
}

// Validate checks the plugins' names.
func (c AdmissionConfig) Validate() error {
	return admission.ValidatePlugins(c.Enable, c.Disable)
}

// addAdmissionFlags binds upstream's admission flags.
func addAdmissionFlags(fs *pflag.FlagSet, c *AdmissionConfig) {
	names := strings.Join(admission.PluginNames(), ", ")
	fs.StringVar(&c.ConfigFile, "admission-control-config-file", "", "File with admission control configuration (an AdmissionConfiguration, apiserver.config.k8s.io/v1).")
	fs.StringSliceVar(&c.Enable, "enable-admission-plugins", nil, "admission plugins that should be enabled in addition to default enabled ones (all of kubelite's are). Comma-delimited list of: "+names+".")
	fs.StringSliceVar(&c.Disable, "disable-admission-plugins", nil, "admission plugins that should be disabled although they are in the default enabled plugins list. Comma-delimited list of: "+names+".")
}

// newAdmission builds the admission chain on the loopback client and the
// shared informers: the built-in plugins, the webhooks (reaching a Service's
// endpoints directly, as kube-apiserver's --enable-aggregator-routing) and the
// CEL admission policies, as c chooses and configures them. Set gc's
// authorizer before.
func newAdmission(gc *genericapiserver.Config, c AdmissionConfig, loopback kubernetes.Interface, factory informers.SharedInformerFactory) (apiadmission.Interface, error) {
	dyn, err := dynamic.NewForConfig(gc.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	// The policies map resources and parameter kinds through discovery,
	// refreshed as kube-apiserver does: at start and every 30 seconds.
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(loopback.Discovery()))
	gc.AddPostStartHookOrDie("start-apiserver-admission-initializer", func(ctx genericapiserver.PostStartHookContext) error {
		mapper.Reset()
		go wait.Until(mapper.Reset, 30*time.Second, ctx.Done())
		return nil
	})
	loopbackURL, err := url.Parse(gc.LoopbackClientConfig.Host)
	if err != nil {
		return nil, fmt.Errorf("loopback URL: %w", err)
	}
	resolver := &serviceResolver{
		services: factory.Core().V1().Services().Lister(),
		slices:   factory.Discovery().V1().EndpointSlices().Lister(),
		loopback: loopbackURL,
	}
	return admission.New(admission.Config{
		Client:           loopback,
		Dynamic:          dyn,
		Informers:        factory,
		Authorizer:       gc.Authorization.Authorizer,
		RESTMapper:       mapper,
		ServiceResolver:  resolver,
		AuthResolver:     webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, gc.LoopbackClientConfig, nil),
		EffectiveVersion: gc.EffectiveVersion,
		APIServerID:      gc.APIServerID,
		Drained:          gc.DrainedNotify(),
		ConfigFile:       c.ConfigFile,
		Disabled:         c.Disable,
	})
}

// serviceResolver finds a webhook Service's endpoint: the API server itself
// for default/kubernetes:443, otherwise a ready endpoint of the Service's
// EndpointSlices, so that webhooks work without a service proxy on the
// control plane.
type serviceResolver struct {
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	loopback *url.URL
}

func (r *serviceResolver) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	if namespace == "default" && name == "kubernetes" && port == 443 {
		return r.loopback, nil
	}
	slices, err := proxy.NewEndpointSliceListerGetter(r.slices)
	if err != nil {
		return nil, err
	}
	return proxy.ResolveEndpoint(r.services, slices, namespace, name, port)
}
