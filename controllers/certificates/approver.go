// Package certificates runs the controllers of CertificateSigningRequests
// that kube-controller-manager runs as csrapproving and csrsigning:
//
//   - The approver approves a node's client certificate request
//     (signer kubernetes.io/kube-apiserver-client-kubelet, CN
//     system:node:<name>, O system:nodes, client usages only, no SANs) when
//     its requester may create certificatesigningrequests/selfnodeclient (a
//     node renewing its own certificate) or certificatesigningrequests/nodeclient
//     (a bootstrapper asking for a node), as a SubjectAccessReview answers.
//     It also approves kubelite's request for the client certificate of a
//     joined node's network workers (signer kubernetes.io/kube-apiserver-client,
//     CN system:kube-proxy, no groups) when its requester may create
//     certificatesigningrequests/nodeproxier, which kubelite grants nodes.
//     Other requests it leaves to people and other approvers.
//   - The signer signs approved requests for the kubernetes.io signers it
//     knows (kube-apiserver-client, kube-apiserver-client-kubelet,
//     kubelet-serving) with the cluster CA, marking as Failed those whose
//     request does not fit the signer.
package certificates

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certinformers "k8s.io/client-go/informers/certificates/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// Approver approves node client certificate requests.
type Approver struct {
	client kubernetes.Interface
	csrs   certlisters.CertificateSigningRequestLister
	loop   *loop.Loop
}

// ApproverConfig holds what the approver needs. Every field is required.
type ApproverConfig struct {
	// Client approves requests and asks SubjectAccessReviews.
	Client kubernetes.Interface
	// Requests is a shared informer; the caller starts it.
	Requests certinformers.CertificateSigningRequestInformer
}

// NewApprover returns the approver, its handlers registered; nothing runs
// until Run.
func NewApprover(cfg ApproverConfig) (*Approver, error) {
	if cfg.Client == nil || cfg.Requests == nil {
		return nil, errors.New("csr approver: Client and Requests are required")
	}
	a := &Approver{client: cfg.Client, csrs: cfg.Requests.Lister()}
	a.loop = loop.New("csrapproving", a.sync)
	if err := loop.Watch(a.loop, cfg.Requests.Informer(), nameKey, false); err != nil {
		return nil, err
	}
	return a, nil
}

// Run approves until ctx ends.
func (a *Approver) Run(ctx context.Context, workers int) error { return a.loop.Run(ctx, workers) }

func nameKey(obj any) []string {
	if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok {
		return []string{csr.Name}
	}
	return nil
}

// recognizer is a kind of request the approver approves when its requester
// holds permission.
type recognizer struct {
	recognize  func(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) bool
	permission authorizationv1.ResourceAttributes
	message    string
}

// recognizers are tried in order: a node renewing its own certificate, then
// anyone asking for a node's.
var recognizers = []recognizer{
	{
		recognize: func(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) bool {
			return csr.Spec.Username == req.Subject.CommonName && isNodeClient(csr, req)
		},
		permission: nodeClientPermission("selfnodeclient"),
		message:    "Auto approving self kubelet client certificate after SubjectAccessReview.",
	},
	{
		recognize:  isNodeClient,
		permission: nodeClientPermission("nodeclient"),
		message:    "Auto approving kubelet client certificate after SubjectAccessReview.",
	},
	{
		recognize:  isNodeProxierClient,
		permission: nodeClientPermission("nodeproxier"),
		message:    "Auto approving node proxier client certificate after SubjectAccessReview.",
	},
}

// NodeProxierUser is the user a joined node's network workers (routes to
// other nodes' pods, service proxy, network policy) run as: upstream's
// kube-proxy user, which the default policy binds to system:node-proxier.
const NodeProxierUser = "system:kube-proxy"

// isNodeProxierClient recognizes kubelite's request for the client
// certificate of a node's network workers: signer
// kubernetes.io/kube-apiserver-client, CN system:kube-proxy and no
// organization (no groups), no SANs, client usages.
func isNodeProxierClient(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) bool {
	return csr.Spec.SignerName == certificatesv1.KubeAPIServerClientSignerName &&
		req.Subject.CommonName == NodeProxierUser && len(req.Subject.Organization) == 0 &&
		len(req.DNSNames) == 0 && len(req.EmailAddresses) == 0 && len(req.IPAddresses) == 0 && len(req.URIs) == 0 &&
		sameUsages(csr.Spec.Usages, [][]certificatesv1.KeyUsage{
			{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
			{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		}) == nil
}

func nodeClientPermission(subresource string) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Group: certificatesv1.GroupName, Version: "*", Resource: "certificatesigningrequests", Subresource: subresource, Verb: "create"}
}

func isNodeClient(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) bool {
	return csr.Spec.SignerName == certificatesv1.KubeAPIServerClientKubeletSignerName && validateNodeClient(req, csr.Spec.Usages) == nil
}

// sync approves request name if it is a node's client request whose
// requester may ask for it.
func (a *Approver) sync(ctx context.Context, name string) error {
	csr, err := a.csrs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(csr.Status.Certificate) > 0 || hasCondition(csr, certificatesv1.CertificateApproved) || hasCondition(csr, certificatesv1.CertificateDenied) {
		return nil
	}
	req, err := parseRequest(csr.Spec.Request)
	if err != nil {
		return loop.Terminal(fmt.Errorf("csr %s: %w", name, err))
	}
	var tried []string
	for _, r := range recognizers {
		if !r.recognize(csr, req) {
			continue
		}
		tried = append(tried, r.permission.Subresource)
		allowed, err := a.mayCreate(ctx, csr, r.permission)
		if err != nil {
			return err
		}
		if !allowed {
			continue
		}
		csr = csr.DeepCopy()
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved", Message: r.message,
		})
		if _, err := a.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, csr, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("approve csr %s: %w", name, err)
		}
		return nil
	}
	if len(tried) > 0 {
		// Permissions change rarely; a person may still approve it.
		return loop.Terminal(fmt.Errorf("csr %s recognized as %v, but the subject access review did not allow it", name, tried))
	}
	return nil
}

// mayCreate asks whether the requester of csr may do permission.
func (a *Approver) mayCreate(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, permission authorizationv1.ResourceAttributes) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: csr.Spec.Username, UID: csr.Spec.UID, Groups: csr.Spec.Groups, Extra: extra,
			ResourceAttributes: &permission,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review for csr %s: %w", csr.Name, err)
	}
	return sar.Status.Allowed, nil
}

func hasCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	return slices.ContainsFunc(csr.Status.Conditions, func(c certificatesv1.CertificateSigningRequestCondition) bool {
		return c.Type == t && c.Status != corev1.ConditionFalse
	})
}

func parseRequest(data []byte) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(b.Bytes)
}

// validateNodeClient checks a node's client certificate request: O
// system:nodes, CN system:node:<name>, no SANs, and the usages of a client
// key (key encipherment only for RSA keys).
func validateNodeClient(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	switch {
	case !slices.Equal(req.Subject.Organization, []string{"system:nodes"}):
		return errors.New("subject organization is not system:nodes")
	case len(req.DNSNames) > 0 || len(req.EmailAddresses) > 0 || len(req.IPAddresses) > 0 || len(req.URIs) > 0:
		return errors.New("subject alternative names are not allowed")
	case !strings.HasPrefix(req.Subject.CommonName, "system:node:"):
		return errors.New("subject common name does not begin with system:node:")
	}
	return sameUsages(usages, [][]certificatesv1.KeyUsage{
		{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth},
		{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
	})
}

// validateNodeServing checks a node's serving certificate request: O
// system:nodes, CN system:node:<name>, DNS or IP SANs only (at least one),
// and server usages.
func validateNodeServing(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	switch {
	case !slices.Equal(req.Subject.Organization, []string{"system:nodes"}):
		return errors.New("subject organization is not system:nodes")
	case len(req.DNSNames) == 0 && len(req.IPAddresses) == 0:
		return errors.New("DNS or IP subjectAltName is required")
	case len(req.EmailAddresses) > 0 || len(req.URIs) > 0:
		return errors.New("email and URI subjectAltNames are not allowed")
	case !strings.HasPrefix(req.Subject.CommonName, "system:node:"):
		return errors.New("subject common name does not begin with system:node:")
	}
	return sameUsages(usages, [][]certificatesv1.KeyUsage{
		{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
		{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
	})
}

// sameUsages reports an error unless usages, as a set, is one of allowed.
func sameUsages(usages []certificatesv1.KeyUsage, allowed [][]certificatesv1.KeyUsage) error {
	set := func(u []certificatesv1.KeyUsage) []certificatesv1.KeyUsage {
		u = slices.Clone(u)
		slices.Sort(u)
		return slices.Compact(u)
	}
	got := set(usages)
	for _, a := range allowed {
		if slices.Equal(got, set(a)) {
			return nil
		}
	}
	return fmt.Errorf("usages did not match %v", set(allowed[0]))
}
