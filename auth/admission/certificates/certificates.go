// Package certificates holds the admission plugins that guard
// CertificateSigningRequests, as upstream's default chain does:
//
//   - CertificateApproval: approving or denying a request (its approval
//     subresource) needs the "approve" verb on the request's signer;
//   - CertificateSigning: setting a request's certificate or conditions
//     (its status subresource) needs the "sign" verb on its signer;
//   - CertificateSubjectRestriction: no request for the
//     kubernetes.io/kube-apiserver-client signer may name the group
//     system:masters.
//
// A signer is authorized by name (signers/example.com/name) or by its
// domain's wildcard (signers/example.com/*), on resource "signers" of
// certificates.k8s.io.
package certificates

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/initializer"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// The plugins' names in the admission chain.
const (
	ApprovalPluginName           = "CertificateApproval"
	SigningPluginName            = "CertificateSigning"
	SubjectRestrictionPluginName = "CertificateSubjectRestriction"
)

var csrs = certificatesv1.Resource("certificatesigningrequests")

// signerCheck is the CertificateApproval and CertificateSigning plugins: an
// update of one subresource of a request needs one verb on its signer.
type signerCheck struct {
	*admission.Handler
	subresource, verb string
	// changed reports whether the update touches what the verb guards.
	changed func(old, csr *certificatesv1.CertificateSigningRequest) bool
	authz   authorizer.UnconditionalAuthorizer
}

var (
	_ admission.ValidationInterface            = (*signerCheck)(nil)
	_ initializer.WantsUnconditionalAuthorizer = (*signerCheck)(nil)
)

// NewApproval returns the CertificateApproval plugin.
func NewApproval() admission.ValidationInterface {
	return &signerCheck{
		Handler:     admission.NewHandler(admission.Update),
		subresource: "approval", verb: "approve",
		changed: func(_, _ *certificatesv1.CertificateSigningRequest) bool { return true },
	}
}

// NewSigning returns the CertificateSigning plugin.
func NewSigning() admission.ValidationInterface {
	return &signerCheck{
		Handler:     admission.NewHandler(admission.Update),
		subresource: "status", verb: "sign",
		changed: func(old, csr *certificatesv1.CertificateSigningRequest) bool {
			return !slices.Equal(old.Status.Certificate, csr.Status.Certificate) ||
				!apiequality.Semantic.DeepEqual(old.Status.Conditions, csr.Status.Conditions)
		},
	}
}

func (p *signerCheck) SetUnconditionalAuthorizer(a authorizer.UnconditionalAuthorizer) { p.authz = a }

func (p *signerCheck) ValidateInitialization() error {
	if p.authz == nil {
		return errors.New("an authorizer is required")
	}
	return nil
}

// Validate refuses the update unless its user holds the verb on the
// signer the request had before (a request's signer cannot change, but the
// old one is what counts).
func (p *signerCheck) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != csrs || a.GetSubresource() != p.subresource {
		return nil
	}
	old, ok := a.GetOldObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.GetOldObject()))
	}
	csr, ok := a.GetObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.GetObject()))
	}
	if !p.changed(old, csr) {
		return nil
	}
	if !MayForSigner(ctx, p.authz, a.GetUserInfo(), p.verb, old.Spec.SignerName) {
		return admission.NewForbidden(a, fmt.Errorf("user not permitted to %s requests with signerName %q", p.verb, old.Spec.SignerName))
	}
	return nil
}

// MayForSigner reports whether u may do verb on the signer, by its name
// or its domain's wildcard ("example.com/*"), as upstream's admission and
// CSR status checks ask it.
func MayForSigner(ctx context.Context, authz authorizer.UnconditionalAuthorizer, u user.Info, verb, signer string) bool {
	names := []string{signer}
	if domain, _, ok := strings.Cut(signer, "/"); ok {
		names = append(names, domain+"/*")
	}
	for _, name := range names {
		d, _, err := authz.Authorize(ctx, authorizer.AttributesRecord{
			User: u, Verb: verb, APIGroup: certificatesv1.GroupName, APIVersion: "*",
			Resource: "signers", Name: name, ResourceRequest: true,
		})
		if err == nil && d == authorizer.DecisionAllow {
			return true
		}
	}
	return false
}

// subjectRestriction is the CertificateSubjectRestriction plugin.
type subjectRestriction struct{ *admission.Handler }

// NewSubjectRestriction returns the CertificateSubjectRestriction plugin.
func NewSubjectRestriction() admission.ValidationInterface {
	return subjectRestriction{admission.NewHandler(admission.Create)}
}

// Validate refuses a new kube-apiserver-client request whose subject's
// organizations (the certificate's groups) hold system:masters.
func (subjectRestriction) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != csrs || a.GetSubresource() != "" {
		return nil
	}
	csr, ok := a.GetObject().(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return admission.NewForbidden(a, fmt.Errorf("expected type CertificateSigningRequest, got: %T", a.GetObject()))
	}
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientSignerName {
		return nil
	}
	block, _ := pem.Decode(csr.Spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return admission.NewForbidden(a, errors.New("failed to parse CSR: PEM block type must be CERTIFICATE REQUEST"))
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("failed to parse CSR: %v", err))
	}
	if slices.Contains(req.Subject.Organization, user.SystemPrivilegedGroup) {
		return admission.NewForbidden(a, fmt.Errorf("use of %s signer with %s group is not allowed", certificatesv1.KubeAPIServerClientSignerName, user.SystemPrivilegedGroup))
	}
	return nil
}
