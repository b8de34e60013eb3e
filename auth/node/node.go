// Package node authorizes the requests of nodes (kubelets), as upstream's
// Node authorizer does: a node, the user system:node:<name> in the group
// system:nodes, may read the pods bound to it and only the secrets, config
// maps, persistent volume claims and volumes, resource claims and service
// account tokens those pods use, and write its own Node, Lease and CSINode.
// Everything else a kubelet needs is allowed by the system:node rules, and
// requests of other users get no opinion.
//
// Upstream keeps a graph of these relationships; this authorizer answers
// from the informers' caches instead, looking at the pods bound to the node
// (an index by spec.nodeName) when a request arrives.
package node

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/auth/rbac"
)

// Identity returns the node a user is, and whether it is one: the user
// system:node:<name> in the group system:nodes.
func Identity(u user.Info) (string, bool) {
	if u == nil {
		return "", false
	}
	name, ok := strings.CutPrefix(u.GetName(), "system:node:")
	if !ok || !slices.Contains(u.GetGroups(), user.NodesGroup) {
		return "", false
	}
	return name, true
}

// podsByNode indexes pods by spec.nodeName.
const podsByNode = "kubelite.io/node-authorizer-node"

// Authorizer is the Node authorizer.
type Authorizer struct {
	pods        cache.Indexer
	claims      corelisters.PersistentVolumeClaimLister
	volumes     corelisters.PersistentVolumeLister
	attachments storagelisters.VolumeAttachmentLister
	rules       []rbacv1.PolicyRule
	synced      []cache.InformerSynced
}

var (
	_ authorizer.Authorizer   = &Authorizer{}
	_ authorizer.RuleResolver = &Authorizer{}
)

// New returns a Node authorizer over the factory's pods, persistent volume
// claims, volumes and volume attachments; rules are what every node may do
// beyond the checks made here (the system:node role). Call it before the
// factory starts.
func New(f informers.SharedInformerFactory, rules []rbacv1.PolicyRule) (*Authorizer, error) {
	pods := f.Core().V1().Pods().Informer()
	if err := pods.AddIndexers(cache.Indexers{podsByNode: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("node authorizer: %w", err)
	}
	claims := f.Core().V1().PersistentVolumeClaims()
	volumes := f.Core().V1().PersistentVolumes()
	attachments := f.Storage().V1().VolumeAttachments()
	return &Authorizer{
		pods:        pods.GetIndexer(),
		claims:      claims.Lister(),
		volumes:     volumes.Lister(),
		attachments: attachments.Lister(),
		rules:       rules,
		synced: []cache.InformerSynced{pods.HasSynced, claims.Informer().HasSynced,
			volumes.Informer().HasSynced, attachments.Informer().HasSynced},
	}, nil
}

// HasSynced reports whether the caches the authorizer reads are filled.
func (a *Authorizer) HasSynced() bool {
	for _, s := range a.synced {
		if !s() {
			return false
		}
	}
	return true
}

var (
	secrets         = schema.GroupResource{Resource: "secrets"}
	configMaps      = schema.GroupResource{Resource: "configmaps"}
	pods            = schema.GroupResource{Resource: "pods"}
	nodes           = schema.GroupResource{Resource: "nodes"}
	claims          = schema.GroupResource{Resource: "persistentvolumeclaims"}
	volumes         = schema.GroupResource{Resource: "persistentvolumes"}
	serviceAccounts = schema.GroupResource{Resource: "serviceaccounts"}
	resourceClaims  = schema.GroupResource{Group: "resource.k8s.io", Resource: "resourceclaims"}
	resourceSlices  = schema.GroupResource{Group: "resource.k8s.io", Resource: "resourceslices"}
	attachments     = schema.GroupResource{Group: "storage.k8s.io", Resource: "volumeattachments"}
	leases          = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}
	csiNodes        = schema.GroupResource{Group: "storage.k8s.io", Resource: "csinodes"}
	podCertificates = schema.GroupResource{Group: "certificates.k8s.io", Resource: "podcertificaterequests"}
)

// decision is the answer of one check: allowed, or no opinion with a reason.
func allow() (authorizer.Decision, string, error) { return authorizer.DecisionAllow, "", nil }
func deny(format string, args ...any) (authorizer.Decision, string, error) {
	return authorizer.DecisionNoOpinion, fmt.Sprintf(format, args...), nil
}

// Authorize answers the requests of nodes; it has no opinion on others'.
func (a *Authorizer) Authorize(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	node, ok := Identity(attrs.GetUser())
	if !ok {
		return authorizer.DecisionNoOpinion, "", nil
	}
	if node == "" {
		return deny("unknown node for user %q", attrs.GetUser().GetName())
	}
	if attrs.IsResourceRequest() {
		verb, sub := attrs.GetVerb(), attrs.GetSubresource()
		switch (schema.GroupResource{Group: attrs.GetAPIGroup(), Resource: attrs.GetResource()}) {
		case secrets:
			return a.readNamespaced(node, attrs, a.podsUseSecret)
		case configMaps:
			return a.readNamespaced(node, attrs, a.podsUseConfigMap)
		case claims:
			if sub == "status" {
				if verb != "update" && verb != "patch" {
					return deny("can only get/update/patch this type")
				}
				return a.related(node, attrs, a.podsUseClaim)
			}
			return a.get(node, attrs, a.podsUseClaim)
		case volumes:
			return a.get(node, attrs, a.podsUseVolume)
		case resourceClaims:
			return a.get(node, attrs, a.podsUseResourceClaim)
		case attachments:
			return a.get(node, attrs, a.attachedTo)
		case serviceAccounts:
			if verb == "get" && sub == "" {
				return a.readNamespaced(node, attrs, a.podsRunAs)
			}
			if verb != "create" || attrs.GetName() == "" {
				return deny("can only create tokens for individual service accounts")
			}
			if sub != "token" {
				return deny("can only create token subresource of serviceaccount")
			}
			return a.related(node, attrs, a.podsRunAs)
		case leases:
			return ownNamed(node, attrs, "node lease", corev1.NamespaceNodeLease)
		case csiNodes:
			if sub != "" {
				return deny("cannot authorize CSINode subresources")
			}
			return ownNamed(node, attrs, "CSINode", "")
		case resourceSlices:
			return resourceSlice(node, attrs)
		case podCertificates:
			return podCertificateRequest(node, attrs)
		case nodes:
			return ownNode(node, attrs)
		case pods:
			return a.pod(node, attrs)
		}
	}
	if rbac.RulesAllow(attrs, a.rules...) {
		return allow()
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// ConditionsAwareAuthorize answers unconditionally.
func (a *Authorizer) ConditionsAwareAuthorize(ctx context.Context, attrs authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(a.Authorize(ctx, attrs))
}

// EvaluateConditions is never needed: the authorizer has no conditions.
func (*Authorizer) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}

// RulesFor cannot list a node's rules, which depend on its pods.
func (a *Authorizer) RulesFor(ctx context.Context, u user.Info, namespace string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	if _, ok := Identity(u); ok {
		return nil, nil, true, fmt.Errorf("node authorizer does not support user rule resolution")
	}
	return nil, nil, false, nil
}

// relation reports whether the named object (in namespace) is used by what
// runs on node.
type relation func(node, namespace, name string) bool

func (a *Authorizer) readNamespaced(node string, attrs authorizer.Attributes, rel relation) (authorizer.Decision, string, error) {
	switch attrs.GetVerb() {
	case "get", "list", "watch":
	default:
		return deny("can only read resources of this type")
	}
	if attrs.GetSubresource() != "" {
		return deny("cannot read subresource")
	}
	if attrs.GetNamespace() == "" {
		return deny("can only read namespaced object of this type")
	}
	return a.related(node, attrs, rel)
}

func (a *Authorizer) get(node string, attrs authorizer.Attributes, rel relation) (authorizer.Decision, string, error) {
	if attrs.GetVerb() != "get" {
		return deny("can only get individual resources of this type")
	}
	if attrs.GetSubresource() != "" {
		return deny("cannot get subresource")
	}
	return a.related(node, attrs, rel)
}

func (a *Authorizer) related(node string, attrs authorizer.Attributes, rel relation) (authorizer.Decision, string, error) {
	if attrs.GetName() == "" {
		return deny("No Object name found")
	}
	if !rel(node, attrs.GetNamespace(), attrs.GetName()) {
		return deny("no relationship found between node '%s' and this object", node)
	}
	return allow()
}

// ownNamed allows get, create, update, patch and delete of the object named
// like the node (in namespace, if set); create of any name, which admission
// narrows.
func ownNamed(node string, attrs authorizer.Attributes, what, namespace string) (authorizer.Decision, string, error) {
	verb := attrs.GetVerb()
	switch verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return deny("can only get, create, update, patch, or delete a %s", what)
	}
	if namespace != "" && attrs.GetNamespace() != namespace {
		return deny("can only access leases in the %q system namespace", namespace)
	}
	if verb != "create" && attrs.GetName() != node {
		return deny("can only access %s with the same name as the requesting node", what)
	}
	return allow()
}

func ownNode(node string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	verb := attrs.GetVerb()
	switch attrs.GetSubresource() {
	case "":
		switch verb {
		case "create", "update", "patch":
			return allow()
		case "get", "list", "watch":
			switch attrs.GetName() {
			case node:
				return allow()
			case "":
				return deny("node '%s' cannot read all nodes, only its own Node object", node)
			default:
				return deny("node '%s' cannot read '%s', only its own Node object", node, attrs.GetName())
			}
		}
	case "status":
		if verb == "update" || verb == "patch" {
			return allow()
		}
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func (a *Authorizer) pod(node string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	verb := attrs.GetVerb()
	switch attrs.GetSubresource() {
	case "":
		switch verb {
		case "get":
			return a.get(node, attrs, a.podOn)
		case "list", "watch":
			if selectsField(attrs, "spec.nodeName", node) {
				return allow()
			}
			if attrs.GetName() != "" {
				return a.related(node, attrs, a.podOn)
			}
			return deny("can only list/watch pods with spec.nodeName field selector")
		case "create", "delete":
			// Mirror pods; NodeRestriction admission narrows these.
			return allow()
		}
	case "status":
		if verb == "update" || verb == "patch" {
			return allow()
		}
	case "eviction":
		if verb == "create" {
			return allow()
		}
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func resourceSlice(node string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	if attrs.GetSubresource() != "" {
		return deny("cannot authorize ResourceSlice subresources")
	}
	switch attrs.GetVerb() {
	case "create":
		return allow()
	case "watch", "list", "deletecollection":
		if selectsField(attrs, "spec.nodeName", node) {
			return allow()
		}
		return deny("can only list/watch/deletecollection resourceslices with nodeName field selector")
	case "get", "update", "patch", "delete":
		// Upstream follows the slice to its node in its graph; kubelite's
		// node agents publish no slices, so nothing relates one to a node.
		return deny("no relationship found between node '%s' and this object", node)
	}
	return deny("only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection")
}

func podCertificateRequest(node string, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	if attrs.GetSubresource() != "" {
		return deny("nodes may not access the status subresource of PodCertificateRequests")
	}
	switch attrs.GetVerb() {
	case "create":
		return allow()
	case "list", "watch":
		if selectsField(attrs, "spec.nodeName", node) {
			return allow()
		}
		return deny("can only list/watch podcertificaterequests with nodeName field selector")
	case "get":
		return deny("no relationship found between node '%s' and this object", node)
	}
	return deny("nodes may not %s podcertificaterequests", attrs.GetVerb())
}

// selectsField reports whether the request's field selector requires
// field=value.
func selectsField(attrs authorizer.Attributes, field, value string) bool {
	reqs, _ := attrs.GetFieldSelector()
	for _, r := range reqs {
		if r.Field == field && r.Operator == selection.Equals && r.Value == value {
			return true
		}
	}
	return false
}

// podsOn returns the pods bound to node, in namespace when set.
func (a *Authorizer) podsOn(node, namespace string) []*corev1.Pod {
	objs, _ := a.pods.ByIndex(podsByNode, node)
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok && (namespace == "" || p.Namespace == namespace) {
			out = append(out, p)
		}
	}
	return out
}

// anyPod reports whether a pod on node in namespace satisfies f.
func (a *Authorizer) anyPod(node, namespace string, f func(*corev1.Pod) bool) bool {
	return slices.ContainsFunc(a.podsOn(node, namespace), f)
}

func (a *Authorizer) podOn(node, namespace, name string) bool {
	return a.anyPod(node, namespace, func(p *corev1.Pod) bool { return p.Name == name })
}

func (a *Authorizer) podsRunAs(node, namespace, name string) bool {
	return a.anyPod(node, namespace, func(p *corev1.Pod) bool { return p.Spec.ServiceAccountName == name })
}

func (a *Authorizer) podsUseSecret(node, namespace, name string) bool {
	if a.anyPod(node, namespace, func(p *corev1.Pod) bool { return slices.Contains(podSecrets(p), name) }) {
		return true
	}
	// Secrets of the persistent volumes the node's pods mount.
	for _, pv := range a.nodeVolumes(node) {
		if slices.Contains(volumeSecrets(pv, namespace), name) {
			return true
		}
	}
	return false
}

func (a *Authorizer) podsUseConfigMap(node, namespace, name string) bool {
	return a.anyPod(node, namespace, func(p *corev1.Pod) bool { return slices.Contains(podConfigMaps(p), name) })
}

func (a *Authorizer) podsUseClaim(node, namespace, name string) bool {
	return a.anyPod(node, namespace, func(p *corev1.Pod) bool { return slices.Contains(podClaims(p), name) })
}

func (a *Authorizer) podsUseResourceClaim(node, namespace, name string) bool {
	return a.anyPod(node, namespace, func(p *corev1.Pod) bool {
		for _, c := range p.Spec.ResourceClaims {
			if c.ResourceClaimName != nil && *c.ResourceClaimName == name {
				return true
			}
		}
		for _, s := range p.Status.ResourceClaimStatuses {
			if s.ResourceClaimName != nil && *s.ResourceClaimName == name {
				return true
			}
		}
		return false
	})
}

// podsUseVolume reports whether the persistent volume name is bound to a
// claim that a pod on node uses.
func (a *Authorizer) podsUseVolume(node, _, name string) bool {
	return slices.ContainsFunc(a.nodeVolumes(node), func(pv *corev1.PersistentVolume) bool { return pv.Name == name })
}

// nodeVolumes returns the persistent volumes bound to the claims of the
// node's pods.
func (a *Authorizer) nodeVolumes(node string) []*corev1.PersistentVolume {
	var out []*corev1.PersistentVolume
	for _, p := range a.podsOn(node, "") {
		for _, c := range podClaims(p) {
			pvc, err := a.claims.PersistentVolumeClaims(p.Namespace).Get(c)
			if err != nil || pvc.Spec.VolumeName == "" {
				continue
			}
			if pv, err := a.volumes.Get(pvc.Spec.VolumeName); err == nil {
				out = append(out, pv)
			}
		}
	}
	return out
}

func (a *Authorizer) attachedTo(node, _, name string) bool {
	va, err := a.attachments.Get(name)
	return err == nil && va.Spec.NodeName == node
}
