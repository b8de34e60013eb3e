package app

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsv1beta1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	apiextensionsoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/storage"
	"k8s.io/klog/v2"
)

// newCRDServer builds the apiextensions API server (CustomResourceDefinitions and
// the custom resources they define) as the delegate behind kubelite's own, the
// way kube-apiserver chains them. It copies gc, so call it once gc's serving,
// authentication, authorization, admission and OpenAPI are set.
func newCRDServer(gc *genericapiserver.Config, etcdOpts *options.EtcdOptions, shared *storage.Shared, factory informers.SharedInformerFactory) (*apiextensionsapiserver.CustomResourceDefinitions, error) {
	xgc := *gc
	xgc.PostStartHooks = map[string]genericapiserver.PostStartHookConfigEntry{}
	xgc.RESTOptionsGetter = nil
	xgc.MergedResourceConfig = apiextensionsapiserver.DefaultAPIResourceConfigSource()

	xEtcd := *etcdOpts
	xEtcd.StorageConfig.Codec = apiextensionsapiserver.Codecs.LegacyCodec(apiextensionsv1beta1.SchemeGroupVersion, apiextensionsv1.SchemeGroupVersion)
	xEtcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(apiextensionsv1beta1.SchemeGroupVersion, schema.GroupKind{Group: apiextensionsv1beta1.GroupName})
	xEtcd.SkipHealthEndpoints = true
	if err := xEtcd.ApplyTo(&xgc); err != nil {
		return nil, fmt.Errorf("apiextensions storage: %w", err)
	}
	xgc.RESTOptionsGetter = shared.RESTOptionsGetter(xgc.RESTOptionsGetter, xEtcd.EnableWatchCache)

	cfg := &apiextensionsapiserver.Config{
		GenericConfig: &genericapiserver.RecommendedConfig{Config: xgc, SharedInformerFactory: factory},
		ExtraConfig: apiextensionsapiserver.ExtraConfig{
			CRDRESTOptionsGetter: shared.CustomResourceRESTOptionsGetter(apiextensionsoptions.NewCRDRESTOptionsGetter(*etcdOpts, nil, nil), etcdOpts.EnableWatchCache),
			MasterCount:          1,
			ServiceResolver:      webhook.NewDefaultServiceResolver(),
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, gc.LoopbackClientConfig, nil),
		},
	}
	return cfg.Complete().New(genericapiserver.NewEmptyDelegate())
}

// crdDiscovery keeps the legacy /apis group list in step with the CRDs: the
// delegate serves each group's own discovery, but only the top server lists
// groups.
func crdDiscovery(srv *genericapiserver.GenericAPIServer, factory apiextensionsinformers.SharedInformerFactory) error {
	srv.DiscoveryGroupManager.AddGroup(metav1.APIGroup{
		Name:             apiextensionsv1.GroupName,
		Versions:         []metav1.GroupVersionForDiscovery{{GroupVersion: apiextensionsv1.SchemeGroupVersion.String(), Version: "v1"}},
		PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: apiextensionsv1.SchemeGroupVersion.String(), Version: "v1"},
	})
	informer := factory.Apiextensions().V1().CustomResourceDefinitions()
	lister := informer.Lister()
	sync := func(group string) {
		crds, err := lister.List(labels.Everything())
		if err != nil {
			klog.Background().Error(err, "list CRDs for discovery")
			return
		}
		if g, ok := crdGroup(group, crds); ok {
			srv.DiscoveryGroupManager.AddGroup(g)
		} else {
			srv.DiscoveryGroupManager.RemoveGroup(group)
		}
	}
	_, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { sync(obj.(*apiextensionsv1.CustomResourceDefinition).Spec.Group) },
		UpdateFunc: func(_, obj any) { sync(obj.(*apiextensionsv1.CustomResourceDefinition).Spec.Group) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
				sync(crd.Spec.Group)
			}
		},
	})
	return err
}
