package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
)

func extendServices(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	storage["services/proxy"] = &ServiceProxyREST{services: store, env: env, transport: newPodTransport()}
	return nil
}

// ServiceProxyREST serves services/proxy: any request, passed to a ready
// endpoint of the service's port ("name", "name:port" or
// "scheme:name:port", the port by its name or number).
type ServiceProxyREST struct {
	services  *genericregistry.Store
	env       *Env
	transport http.RoundTripper
}

var _ rest.Connecter = &ServiceProxyREST{}

// New returns an empty ServiceProxyOptions.
func (r *ServiceProxyREST) New() runtime.Object { return &corev1.ServiceProxyOptions{} }

// Destroy does nothing: the service store owns the storage.
func (r *ServiceProxyREST) Destroy() {}

// ConnectMethods are the methods a proxy passes on.
func (r *ServiceProxyREST) ConnectMethods() []string { return (&NodeProxyREST{}).ConnectMethods() }

// NewConnectOptions returns the options, whose path is the rest of the URL.
func (r *ServiceProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.ServiceProxyOptions{}, true, "path"
}

// Connect proxies to path on an endpoint of the service.
func (r *ServiceProxyREST) Connect(ctx context.Context, id string, options runtime.Object, responder rest.Responder) (http.Handler, error) {
	opts, ok := options.(*corev1.ServiceProxyOptions)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid options object: %T", options))
	}
	scheme, name, port, valid := utilnet.SplitSchemeNamePort(id)
	if !valid {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid service request %q", id))
	}
	obj, err := r.services.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	svc := obj.(*corev1.Service)
	host, err := r.endpoint(ctx, svc, port)
	if err != nil {
		return nil, err
	}
	if scheme == "" {
		scheme = "http"
	}
	loc := &url.URL{Scheme: scheme, Host: host, Path: opts.Path}
	if !strings.HasPrefix(loc.Path, "/") {
		loc.Path = "/" + loc.Path
	}
	return proxy.NewUpgradeAwareHandler(loc, r.transport, true, false, proxy.NewErrorResponder(responder)), nil
}

// endpoint returns host:port of the first ready endpoint of svc's port
// named or numbered port ("" for the service's only or unnamed port).
func (r *ServiceProxyREST) endpoint(ctx context.Context, svc *corev1.Service, port string) (string, error) {
	var sp *corev1.ServicePort
	for i, p := range svc.Spec.Ports {
		if p.Name == port || strconv.Itoa(int(p.Port)) == port || (port == "" && len(svc.Spec.Ports) == 1) {
			sp = &svc.Spec.Ports[i]
			break
		}
	}
	if sp == nil {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %q found for service %q", port, svc.Name))
	}
	store := r.env.stores[schema.GroupResource{Group: discoveryv1.GroupName, Resource: "endpointslices"}]
	if store == nil {
		return "", apierrors.NewInternalError(fmt.Errorf("no storage for endpointslices"))
	}
	list, err := store.List(ctx, &metainternalversion.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name}),
	})
	if err != nil {
		return "", err
	}
	for _, slice := range list.(*discoveryv1.EndpointSliceList).Items {
		for _, p := range slice.Ports {
			if p.Port == nil || (p.Name != nil && *p.Name != sp.Name) || (p.Name == nil && sp.Name != "") {
				continue
			}
			for _, ep := range slice.Endpoints {
				if (ep.Conditions.Ready == nil || *ep.Conditions.Ready) && len(ep.Addresses) > 0 {
					return net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*p.Port))), nil
				}
			}
		}
	}
	return "", apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", svc.Name))
}
