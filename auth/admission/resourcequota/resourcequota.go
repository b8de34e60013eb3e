// Package resourcequota is the ResourceQuota admission plugin and the quota
// evaluators it shares with the resource quota controller.
//
// The plugin is k8s.io/apiserver's: for each create or update that can
// change usage it charges the request to every matching ResourceQuota of the
// namespace, writing the new status.used, and rejects the request with a 403
// "exceeded quota: <name>, requested: ..., used: ..., limited: ..." when a
// quota's hard limit would be passed. This package gives it kubelite's
// evaluators, which say what an object uses:
//
//   - pods: count/pods always; pods, cpu, memory, ephemeral-storage (plain,
//     requests.* and limits.*), hugepages and extended resource requests
//     while the pod is neither terminal nor past its deletion grace period.
//     Scopes: Terminating, NotTerminating, BestEffort, NotBestEffort,
//     PriorityClass, CrossNamespacePodAffinity.
//   - services: services, count/services, services.nodeports,
//     services.loadbalancers.
//   - persistentvolumeclaims: persistentvolumeclaims, requests.storage, and
//     both per storage class (<class>.storageclass.storage.k8s.io/...).
//   - configmaps, secrets, replicationcontrollers, resourcequotas: their
//     legacy names and count/<resource>.
//
// Any other resource is counted as count/<resource>.<group> by the generic
// object count evaluator.
package resourcequota

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	upstream "k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/utils/clock"
)

// PluginName is the plugin's name in the admission chain.
const PluginName = upstream.PluginName

// workers is the number of namespaces whose requests are evaluated at once.
const workers = 5

// ignored are the resources quota never counts, as upstream.
var ignored = map[schema.GroupResource]struct{}{
	{Resource: "bindings"}:                                                 {},
	{Resource: "componentstatuses"}:                                        {},
	{Resource: "events"}:                                                   {},
	{Group: "events.k8s.io", Resource: "events"}:                           {},
	{Group: "authentication.k8s.io", Resource: "tokenreviews"}:             {},
	{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}:       {},
	{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}:      {},
	{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}:  {},
	{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}: {},
	{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"}:   {},
}

// legacyCounts are the resources counted under a name without count/.
var legacyCounts = map[string]corev1.ResourceName{
	"configmaps":             corev1.ResourceConfigMaps,
	"secrets":                corev1.ResourceSecrets,
	"replicationcontrollers": corev1.ResourceReplicationControllers,
	"resourcequotas":         corev1.ResourceQuotas,
}

// Evaluators returns the evaluators of the core resources. lister gives
// each its objects, for the usage stats the controller computes; nil in
// admission, which only needs the usage of one object at a time.
func Evaluators(lister quota.ListerForResourceFunc, clk clock.PassiveClock) []quota.Evaluator {
	list := func(resource string) generic.ListFuncByNamespace {
		if lister == nil {
			return nil
		}
		return generic.ListResourceUsingListerFunc(lister, corev1.SchemeGroupVersion.WithResource(resource))
	}
	out := []quota.Evaluator{
		podEvaluator(list("pods"), clk),
		serviceEvaluator(list("services")),
		claimEvaluator(list("persistentvolumeclaims")),
	}
	for resource, alias := range legacyCounts {
		out = append(out, generic.NewObjectCountEvaluator(schema.GroupResource{Resource: resource}, list(resource), alias))
	}
	return out
}

// Configuration is the quota configuration of admission and the
// controller: the evaluators of Evaluators and the ignored resources.
func Configuration(lister quota.ListerForResourceFunc, clk clock.PassiveClock) quota.Configuration {
	return generic.NewConfiguration(Evaluators(lister, clk), ignored)
}

// New returns the ResourceQuota plugin. Its evaluation workers stop when
// stop is closed (when the server has drained its requests). It needs a
// client and an informer factory, from the chain's initializer, before it
// admits anything.
func New(stop <-chan struct{}) (*upstream.QuotaAdmission, error) {
	if stop == nil {
		return nil, errors.New("resourcequota: a stop channel is required")
	}
	p, err := upstream.NewResourceQuota(nil, workers)
	if err != nil {
		return nil, err
	}
	p.SetDrainedNotification(stop)
	p.SetQuotaConfiguration(Configuration(nil, clock.RealClock{}))
	return p, nil
}

// Ignored returns the resources quota never counts.
func Ignored() map[schema.GroupResource]struct{} { return ignored }
