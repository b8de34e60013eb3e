package registry

import (
	"context"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
)

func extendServices(env *Env, store *genericregistry.Store, storage map[string]rest.Storage) error {
	storage["services/proxy"] = serviceProxyREST(env, store)
	return nil
}

// serviceProxyREST serves services/proxy: any request, passed to a ready
// endpoint of the service's port ("name", "name:port" or
// "scheme:name:port", the port by its name or number).
func serviceProxyREST(env *Env, services *genericregistry.Store) *proxyREST {
	return &proxyREST{
		kind:       "service",
		newOptions: func() runtime.Object { return &corev1.ServiceProxyOptions{} },
		path: func(o runtime.Object) (string, bool) {
			if opts, ok := o.(*corev1.ServiceProxyOptions); ok {
				return opts.Path, true
			}
			return "", false
		},
		transport: newPodTransport(),
		host: func(ctx context.Context, name, port string) (string, error) {
			obj, err := services.Get(ctx, name, &metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			return serviceEndpoint(ctx, env, obj.(*corev1.Service), port)
		},
	}
}

// serviceEndpoint returns host:port of the first ready endpoint of svc's port
// named or numbered port ("" for the service's only or unnamed port).
func serviceEndpoint(ctx context.Context, env *Env, svc *corev1.Service, port string) (string, error) {
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
	store := env.stores[schema.GroupResource{Group: discoveryv1.GroupName, Resource: "endpointslices"}]
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
