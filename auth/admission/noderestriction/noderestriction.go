// Package noderestriction is the NodeRestriction admission plugin: it limits
// what a node identity (user system:node:<name> in group system:nodes) may
// write, so that a node can change only what concerns itself. The node
// authorizer decides which resources a node may touch at all; this plugin
// checks the objects themselves. As upstream, a node
//   - may modify only its own Node; it may not register with, add, change or
//     remove node-restriction.kubernetes.io/ labels or kubernetes.io and
//     k8s.io labels outside the kubelet's set, nor change its taints, its
//     ownerReferences or its configSource;
//   - may create only mirror pods bound to itself, owned by its Node and
//     referencing no other API object, and delete only pods bound to it;
//   - may update the status, not the labels, only of pods bound to it, and
//     evict only pods bound to it;
//   - may write only its own Lease in kube-node-lease;
//   - may update PersistentVolumeClaims only through status;
//   - may ask for service account tokens only bound to a pod bound to it,
//     and only for an audience the pod uses or it is authorized for;
//   - may write only its own CSINode, and create or delete only
//     ResourceSlices of its own;
//   - may ask for kubelet client and serving certificates (CSRs) only with
//     its own name, CN=system:node:<name>.
//
// Not done here (upstream checks them too): PodCertificateRequests, and
// token audiences of in-tree volumes migrated to CSI.
package noderestriction

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	kubeletapis "k8s.io/kubelet/pkg/apis"
)

// PluginName is the plugin's name in the admission chain.
const PluginName = "NodeRestriction"

// Plugin is the NodeRestriction admission plugin.
type Plugin struct {
	*admission.Handler
	pods       corelisters.PodLister
	nodes      corelisters.NodeLister
	claims     corelisters.PersistentVolumeClaimLister
	volumes    corelisters.PersistentVolumeLister
	csiDrivers storagelisters.CSIDriverLister
	authz      authorizer.Authorizer
}

var _ admission.MutationInterface = (*Plugin)(nil)

// New returns the plugin; it needs the informer factory before use.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update, admission.Delete)}
}

// SetExternalKubeInformerFactory takes the pod and node listers.
func (p *Plugin) SetExternalKubeInformerFactory(f informers.SharedInformerFactory) {
	p.pods = f.Core().V1().Pods().Lister()
	p.nodes = f.Core().V1().Nodes().Lister()
	p.claims = f.Core().V1().PersistentVolumeClaims().Lister()
	p.volumes = f.Core().V1().PersistentVolumes().Lister()
	p.csiDrivers = f.Storage().V1().CSIDrivers().Lister()
	synced := []func() bool{f.Core().V1().Pods().Informer().HasSynced, f.Core().V1().Nodes().Informer().HasSynced,
		f.Core().V1().PersistentVolumeClaims().Informer().HasSynced, f.Core().V1().PersistentVolumes().Informer().HasSynced,
		f.Storage().V1().CSIDrivers().Informer().HasSynced}
	p.SetReadyFunc(func() bool {
		for _, s := range synced {
			if !s() {
				return false
			}
		}
		return true
	})
}

// ValidateInitialization checks that the listers and the authorizer are set.
func (p *Plugin) ValidateInitialization() error {
	if p.pods == nil || p.nodes == nil || p.authz == nil {
		return fmt.Errorf("%s: missing listers or authorizer", PluginName)
	}
	return nil
}

// NodeIdentity returns the node name of a node identity: a user named
// system:node:<name> in the group system:nodes. isNode is false for every
// other user; name is empty for a node identity without a name.
func NodeIdentity(u user.Info) (name string, isNode bool) {
	if u == nil || !slices.Contains(u.GetGroups(), user.NodesGroup) {
		return "", false
	}
	const prefix = "system:node:"
	if !strings.HasPrefix(u.GetName(), prefix) {
		return "", false
	}
	return strings.TrimPrefix(u.GetName(), prefix), true
}

var (
	podResource     = corev1.Resource("pods")
	nodeResource    = corev1.Resource("nodes")
	pvcResource     = corev1.Resource("persistentvolumeclaims")
	saResource      = corev1.Resource("serviceaccounts")
	leaseResource   = coordinationv1.Resource("leases")
	csiNodeResource = storagev1.Resource("csinodes")
	sliceResource   = resourcev1.Resource("resourceslices")
	csrResource     = certificatesv1.Resource("certificatesigningrequests")
)

// Admit checks a node's request.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	node, isNode := NodeIdentity(a.GetUserInfo())
	if !isNode {
		return nil
	}
	if node == "" {
		return admission.NewForbidden(a, fmt.Errorf("could not determine node from user %q", a.GetUserInfo().GetName()))
	}
	switch a.GetResource().GroupResource() {
	case podResource:
		switch a.GetSubresource() {
		case "":
			return p.admitPod(node, a)
		case "status":
			return p.admitPodStatus(node, a)
		case "eviction":
			return p.admitEviction(node, a)
		default:
			return admission.NewForbidden(a, fmt.Errorf("unexpected pod subresource %q, only 'status' and 'eviction' are allowed", a.GetSubresource()))
		}
	case nodeResource:
		return admitNode(node, a)
	case pvcResource:
		if a.GetSubresource() != "status" {
			return admission.NewForbidden(a, fmt.Errorf("may only update PVC status"))
		}
		return nil
	case saResource:
		return p.admitTokenRequest(ctx, node, a)
	case leaseResource:
		return admitLease(node, a)
	case csiNodeResource:
		return admitCSINode(node, a)
	case sliceResource:
		return admitResourceSlice(node, a)
	case csrResource:
		return admitCSR(node, a)
	}
	return nil
}

// pod returns the pod named in the request, as the informer has it.
func (p *Plugin) pod(a admission.Attributes, name string) (*corev1.Pod, error) {
	if !p.WaitForReady() {
		return nil, admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	pod, err := p.pods.Pods(a.GetNamespace()).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, err
	}
	if err != nil {
		return nil, admission.NewForbidden(a, err)
	}
	return pod, nil
}

func (p *Plugin) admitPod(node string, a admission.Attributes) error {
	switch a.GetOperation() {
	case admission.Create:
		return p.admitMirrorPod(node, a)
	case admission.Delete:
		pod, err := p.pod(a, a.GetName())
		if err != nil {
			return err
		}
		if pod.Spec.NodeName != node {
			return admission.NewForbidden(a, fmt.Errorf("node %q can only delete pods with spec.nodeName set to itself", node))
		}
		return nil
	}
	return admission.NewForbidden(a, fmt.Errorf("unexpected operation %q, node %q can only create and delete mirror pods", a.GetOperation(), node))
}

// admitMirrorPod lets a node create only a mirror pod of its own.
func (p *Plugin) admitMirrorPod(node string, a admission.Attributes) error {
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
		return admission.NewForbidden(a, fmt.Errorf("pod does not have %q annotation, node %q can only create mirror pods", corev1.MirrorPodAnnotationKey, node))
	}
	if pod.Spec.NodeName != node {
		return admission.NewForbidden(a, fmt.Errorf("node %q can only create pods with spec.nodeName set to itself", node))
	}
	switch len(pod.OwnerReferences) {
	case 0:
		return admission.NewForbidden(a, fmt.Errorf("node %q can only create pods with an owner reference set to itself", node))
	case 1:
	default:
		return admission.NewForbidden(a, fmt.Errorf("node %q can only create pods with a single owner reference set to itself", node))
	}
	owner := pod.OwnerReferences[0]
	if owner.APIVersion != "v1" || owner.Kind != "Node" || owner.Name != node {
		return admission.NewForbidden(a, fmt.Errorf("node %q can only create pods with an owner reference set to itself", node))
	}
	if owner.Controller == nil || !*owner.Controller {
		return admission.NewForbidden(a, fmt.Errorf("node %q can only create pods with a controller owner reference set to itself", node))
	}
	if owner.BlockOwnerDeletion != nil && *owner.BlockOwnerDeletion {
		return admission.NewForbidden(a, fmt.Errorf("node %q must not set blockOwnerDeletion on an owner reference", node))
	}
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	n, err := p.nodes.Get(node)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error looking up node %s to verify uid: %v", node, err))
	}
	if owner.UID != n.UID {
		return admission.NewForbidden(a, fmt.Errorf("node %s UID mismatch: expected %s got %s", node, owner.UID, n.UID))
	}
	if resource, err := apiReference(pod); err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error checking mirror pod for API references: %w", err))
	} else if resource != "" {
		return admission.NewForbidden(a, fmt.Errorf("node %q can not create pods that reference %s", node, resource))
	}
	return nil
}

func (p *Plugin) admitPodStatus(node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Update {
		return admission.NewForbidden(a, fmt.Errorf("unexpected operation %q", a.GetOperation()))
	}
	old, ok := a.GetOldObject().(*corev1.Pod)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetOldObject()))
	}
	if old.Spec.NodeName != node {
		return admission.NewForbidden(a, fmt.Errorf("node %q can only update pod status for pods with spec.nodeName set to itself", node))
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
	}
	if !labels.Equals(old.Labels, pod.Labels) {
		return admission.NewForbidden(a, fmt.Errorf("node %q cannot update labels through pod status", node))
	}
	if !equality.Semantic.DeepEqual(old.Status.ResourceClaimStatuses, pod.Status.ResourceClaimStatuses) {
		return admission.NewForbidden(a, fmt.Errorf("node %q cannot update resource claim statues", node))
	}
	return nil
}

func (p *Plugin) admitEviction(node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create {
		return admission.NewForbidden(a, fmt.Errorf("unexpected operation %s", a.GetOperation()))
	}
	eviction, ok := a.GetObject().(*policyv1.Eviction)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
	}
	name := a.GetName()
	if name == "" {
		if name = eviction.Name; name == "" {
			return admission.NewForbidden(a, fmt.Errorf("could not determine pod from request data"))
		}
	}
	pod, err := p.pod(a, name)
	if err != nil {
		return err
	}
	if pod.Spec.NodeName != node {
		return admission.NewForbidden(a, fmt.Errorf("node %s can only evict pods with spec.nodeName set to itself", node))
	}
	return nil
}

func admitNode(node string, a admission.Attributes) error {
	if a.GetName() != node {
		return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to modify node %q", node, a.GetName()))
	}
	switch a.GetOperation() {
	case admission.Create:
		n, ok := a.GetObject().(*corev1.Node)
		if !ok {
			return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
		}
		if n.Spec.ConfigSource != nil {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to create pods with a non-nil configSource", node))
		}
		if forbidden := forbiddenLabels(n.Labels, nil); len(forbidden) > 0 {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to set the following labels: %s", node, strings.Join(forbidden, ", ")))
		}
	case admission.Update:
		n, ok := a.GetObject().(*corev1.Node)
		if !ok {
			return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
		}
		old, ok := a.GetOldObject().(*corev1.Node)
		if !ok {
			return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetOldObject()))
		}
		if n.Spec.ConfigSource != nil && !equality.Semantic.DeepEqual(n.Spec.ConfigSource, old.Spec.ConfigSource) {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to update configSource to a new non-nil configSource", node))
		}
		if !equality.Semantic.DeepEqual(n.Spec.Taints, old.Spec.Taints) {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to modify taints", node))
		}
		if !equality.Semantic.DeepEqual(n.OwnerReferences, old.OwnerReferences) {
			return admission.NewForbidden(a, fmt.Errorf("node %q is not allowed to modify ownerReferences", node))
		}
		if forbidden := forbiddenLabels(n.Labels, old.Labels); len(forbidden) > 0 {
			return admission.NewForbidden(a, fmt.Errorf("is not allowed to modify labels: %s", strings.Join(forbidden, ", ")))
		}
	}
	return nil
}

// forbiddenLabels returns, sorted, the keys whose value differs between the
// two label sets that a node may not set: those under
// node-restriction.kubernetes.io/, and those under kubernetes.io or k8s.io
// that are not the kubelet's own.
func forbiddenLabels(a, b map[string]string) []string {
	var out []string
	check := func(key string) {
		ns, _, found := strings.Cut(key, "/")
		if !found {
			return
		}
		restricted := ns == corev1.LabelNamespaceNodeRestriction || strings.HasSuffix(ns, "."+corev1.LabelNamespaceNodeRestriction)
		kube := ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")
		if (restricted || kube && !kubeletapis.IsKubeletLabel(key)) && !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			check(k)
		}
	}
	for k, v := range b {
		if w, ok := a[k]; !ok || v != w {
			check(k)
		}
	}
	slices.Sort(out)
	return out
}

func admitLease(node string, a admission.Attributes) error {
	if a.GetNamespace() != corev1.NamespaceNodeLease {
		return admission.NewForbidden(a, fmt.Errorf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease))
	}
	name := a.GetName()
	if a.GetOperation() == admission.Create {
		lease, ok := a.GetObject().(*coordinationv1.Lease)
		if !ok {
			return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
		}
		name = lease.Name
	}
	if name != node {
		return admission.NewForbidden(a, fmt.Errorf("can only access node lease with the same name as the requesting node"))
	}
	return nil
}

// admitTokenRequest lets a node ask only for tokens bound to a pod of its own.
func (p *Plugin) admitTokenRequest(ctx context.Context, node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create || a.GetSubresource() != "token" {
		return nil
	}
	tr, ok := a.GetObject().(*authenticationv1.TokenRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
	}
	ref := tr.Spec.BoundObjectRef
	if ref == nil || ref.APIVersion != "v1" || ref.Kind != "Pod" || ref.Name == "" {
		return admission.NewForbidden(a, fmt.Errorf("node requested token not bound to a pod"))
	}
	if ref.UID == "" {
		return admission.NewForbidden(a, fmt.Errorf("node requested token with a pod binding without a uid"))
	}
	pod, err := p.pod(a, ref.Name)
	if err != nil {
		return err
	}
	if ref.UID != pod.UID {
		return admission.NewForbidden(a, fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	if pod.Spec.NodeName != node {
		return admission.NewForbidden(a, fmt.Errorf("node requested token bound to a pod scheduled on a different node"))
	}
	if err := p.admitAudience(ctx, tr, pod, a); err != nil {
		return admission.NewForbidden(a, err)
	}
	return nil
}

// admitCSINode lets a node write only the CSINode of its name; its status
// belongs to the CSIVolumeHealth feature, which is off.
func admitCSINode(node string, a admission.Attributes) error {
	name := a.GetName()
	if a.GetOperation() == admission.Create {
		m, err := meta.Accessor(a.GetObject())
		if err != nil {
			return admission.NewForbidden(a, fmt.Errorf("unable to access the object name"))
		}
		name = m.GetName()
	}
	if name != node {
		return admission.NewForbidden(a, fmt.Errorf("can only access CSINode with the same name as the requesting node"))
	}
	if a.GetSubresource() == "status" {
		return admission.NewForbidden(a, fmt.Errorf("CSIVolumeHealth feature gate is disabled"))
	}
	return nil
}

// admitResourceSlice lets a node create and delete only ResourceSlices of
// its own node; the Node authorizer judges the rest, but cannot see a new
// object or each one a collection delete removes.
func admitResourceSlice(node string, a admission.Attributes) error {
	var obj runtime.Object
	switch a.GetOperation() {
	case admission.Create:
		obj = a.GetObject()
	case admission.Delete:
		obj = a.GetOldObject()
	default:
		return nil
	}
	slice, ok := obj.(*resourcev1.ResourceSlice)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", obj))
	}
	if slice.Spec.NodeName == nil || *slice.Spec.NodeName != node {
		verb := "create"
		if a.GetOperation() == admission.Delete {
			verb = "delete"
		}
		return admission.NewForbidden(a, fmt.Errorf("can only %s ResourceSlice with the same NodeName as the requesting node", verb))
	}
	return nil
}

// admitCSR lets a node ask the kubelet signers only for its own name; the
// signer checks the rest of the request.
func admitCSR(node string, a admission.Attributes) error {
	if a.GetOperation() != admission.Create {
		return nil
	}
	csr, ok := a.GetObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("unexpected type %T", a.GetObject()))
	}
	if csr.Spec.SignerName != certificatesv1.KubeletServingSignerName && csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		return nil
	}
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return admission.NewForbidden(a, fmt.Errorf("unable to parse csr: PEM block type must be CERTIFICATE REQUEST"))
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("unable to parse csr: %w", err))
	}
	if req.Subject.CommonName != "system:node:"+node {
		return admission.NewForbidden(a, fmt.Errorf("can only create a node CSR with CN=system:node:%s", node))
	}
	return nil
}
