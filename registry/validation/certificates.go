package validation

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	legacyUnknownSignerName = "kubernetes.io/legacy-unknown"
	minCSRExpirationSeconds = 600
)

var (
	keyUsages = []certificatesv1.KeyUsage{
		certificatesv1.UsageAny, certificatesv1.UsageCRLSign, certificatesv1.UsageCertSign, certificatesv1.UsageClientAuth,
		certificatesv1.UsageCodeSigning, certificatesv1.UsageContentCommitment, certificatesv1.UsageDataEncipherment,
		certificatesv1.UsageDecipherOnly, certificatesv1.UsageDigitalSignature, certificatesv1.UsageEmailProtection,
		certificatesv1.UsageEncipherOnly, certificatesv1.UsageIPsecEndSystem, certificatesv1.UsageIPsecTunnel,
		certificatesv1.UsageIPsecUser, certificatesv1.UsageKeyAgreement, certificatesv1.UsageKeyEncipherment,
		certificatesv1.UsageMicrosoftSGC, certificatesv1.UsageNetscapeSGC, certificatesv1.UsageOCSPSigning,
		certificatesv1.UsageSMIME, certificatesv1.UsageServerAuth, certificatesv1.UsageSigning, certificatesv1.UsageTimestamping,
	}
	// trueOnlyConditions may only have status True.
	trueOnlyConditions = []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed}
	allConditionStatus = []corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown}
)

// csrOptions mirror upstream's: what the update path may change, and what
// the old object already got away with.
type csrOptions struct {
	allowApprovalConditions  bool // approval subresource
	allowSettingCertificate  bool // status subresource
	allowApprovedAndDenied   bool
	allowLegacySignerName    bool
	allowDuplicateConditions bool
	allowEmptyConditionType  bool
	allowArbitraryCert       bool
	allowUnknownUsages       bool
	allowDuplicateUsages     bool
}

// CertificateSigningRequest validates a CSR on create: a signed PKCS#10
// request in a CERTIFICATE REQUEST PEM block, known unique usages, a
// qualified signerName, expirationSeconds of at least 600 and consistent
// conditions. Any name is allowed.
func CertificateSigningRequest(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	errs := csrObject(csr, csrOptions{})
	return append(errs, approvedAndDenied(csr, csrOptions{})...)
}

// CertificateSigningRequestUpdate validates an update of the main
// resource: no approval conditions or certificate may change, and the
// spec is immutable. Upstream's strategy silently restores the old spec and
// status before validating; kubelite's registry should do the same, which
// leaves the immutability check as a guard.
func CertificateSigningRequestUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	return csrUpdate(csr, old, csrUpdateOptions(csr, old))
}

// CertificateSigningRequestStatusUpdate validates a write to the status
// subresource, which may set the certificate once.
func CertificateSigningRequestStatusUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	opts := csrUpdateOptions(csr, old)
	opts.allowSettingCertificate = true
	return csrUpdate(csr, old, opts)
}

// CertificateSigningRequestApprovalUpdate validates a write to the approval
// subresource, which may add Approved or Denied conditions.
func CertificateSigningRequestApprovalUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	opts := csrUpdateOptions(csr, old)
	opts.allowApprovalConditions = true
	return csrUpdate(csr, old, opts)
}

func csrUpdateOptions(csr, old *certificatesv1.CertificateSigningRequest) csrOptions {
	approved, denied := len(findCSRConditions(old, certificatesv1.CertificateApproved)) > 0, len(findCSRConditions(old, certificatesv1.CertificateDenied)) > 0
	opts := csrOptions{
		allowApprovedAndDenied: approved && denied,
		allowLegacySignerName:  old.Spec.SignerName == legacyUnknownSignerName,
		allowArbitraryCert:     bytes.Equal(csr.Status.Certificate, old.Status.Certificate) || validateCertificate(old.Status.Certificate) != nil,
	}
	seen := map[certificatesv1.RequestConditionType]bool{}
	for _, c := range old.Status.Conditions {
		opts.allowDuplicateConditions = opts.allowDuplicateConditions || seen[c.Type]
		opts.allowEmptyConditionType = opts.allowEmptyConditionType || c.Type == ""
		seen[c.Type] = true
	}
	usages := map[certificatesv1.KeyUsage]bool{}
	for _, u := range old.Spec.Usages {
		opts.allowUnknownUsages = opts.allowUnknownUsages || !containsValue(keyUsages, u)
		opts.allowDuplicateUsages = opts.allowDuplicateUsages || usages[u]
		usages[u] = true
	}
	return opts
}

func csrObject(csr *certificatesv1.CertificateSigningRequest, opts csrOptions) field.ErrorList {
	errs := objectMeta(&csr.ObjectMeta, false, func(string, bool) []string { return nil })
	sp := field.NewPath("spec")
	if err := checkCSR(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(sp.Child("request"), csr.Spec.Request, err.Error()))
	}
	up := sp.Child("usages")
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(up, ""))
	}
	if !opts.allowUnknownUsages {
		for i, u := range csr.Spec.Usages {
			if !containsValue(keyUsages, u) {
				errs = append(errs, field.NotSupported(up.Index(i), u, keyUsages))
			}
		}
	}
	if !opts.allowDuplicateUsages {
		seen := map[certificatesv1.KeyUsage]bool{}
		for i, u := range csr.Spec.Usages {
			if seen[u] {
				errs = append(errs, field.Duplicate(up.Index(i), u))
			}
			seen[u] = true
		}
	}
	if !opts.allowLegacySignerName && csr.Spec.SignerName == legacyUnknownSignerName {
		errs = append(errs, field.Invalid(sp.Child("signerName"), csr.Spec.SignerName, "the legacy signerName is not allowed via this API version"))
	} else {
		errs = append(errs, signerName(csr.Spec.SignerName, sp.Child("signerName"))...)
	}
	if e := csr.Spec.ExpirationSeconds; e != nil && *e < minCSRExpirationSeconds {
		errs = append(errs, field.Invalid(sp.Child("expirationSeconds"), *e, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	errs = append(errs, csrConditions(csr.Status.Conditions, opts, field.NewPath("status", "conditions"))...)
	if !opts.allowArbitraryCert {
		if err := validateCertificate(csr.Status.Certificate); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("status", "certificate"), "<certificate data>", err.Error()))
		}
	}
	return errs
}

// checkCSR parses a PEM CERTIFICATE REQUEST and checks its signature.
func checkCSR(request []byte) error {
	block, _ := pem.Decode(request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

// validateCertificate accepts empty data or one or more CERTIFICATE PEM
// blocks without headers.
func validateCertificate(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	blocks := 0
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) != 0 {
			return errors.New("no PEM block headers are permitted")
		}
		blocks++
		certs, err := x509.ParseCertificates(block.Bytes)
		if err != nil {
			return err
		}
		if len(certs) == 0 {
			return errors.New("found CERTIFICATE PEM block containing 0 certificates")
		}
		data = rest
	}
	if blocks == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}

// signerName requires "<domain>/<path>": a dotted domain of DNS labels and
// a path of DNS subdomains, within the upstream lengths.
func signerName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	domain, path, ok := strings.Cut(name, "/")
	if !ok || strings.Contains(path, "/") {
		return field.ErrorList{field.Invalid(fldPath, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	if len(domain) > utilvalidation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(fldPath, "", utilvalidation.DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if m := utilvalidation.IsDNS1123Label(l); len(m) > 0 {
			for _, s := range m {
				errs = append(errs, field.Invalid(fldPath, domain, fmt.Sprintf("validating label %q: %s", l, s)))
			}
			break
		}
	}
	if len(labels) < 2 {
		errs = append(errs, field.Invalid(fldPath, domain, "should be a domain with at least two segments separated by dots"))
	}
	for _, l := range strings.Split(path, ".") {
		if m := utilvalidation.IsDNS1123Subdomain(l); len(m) > 0 {
			for _, s := range m {
				errs = append(errs, field.Invalid(fldPath, path, fmt.Sprintf("validating label %q: %s", l, s)))
			}
			break
		}
	}
	maxLen := utilvalidation.DNS1123SubdomainMaxLength + (utilvalidation.DNS1123SubdomainMaxLength + utilvalidation.DNS1123LabelMaxLength + 1) + 1
	if len(name) > maxLen {
		errs = append(errs, field.TooLong(fldPath, "", maxLen))
	}
	return errs
}

// csrConditions checks condition types and statuses. The Approved/Denied
// exclusion is approvedAndDenied's, reported after everything else as the
// declarative check is upstream.
func csrConditions(list []certificatesv1.CertificateSigningRequestCondition, opts csrOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[certificatesv1.RequestConditionType]bool{}
	for i, c := range list {
		p := fldPath.Index(i)
		if !opts.allowEmptyConditionType && c.Type == "" {
			errs = append(errs, field.Required(p.Child("type"), ""))
		}
		allowed := allConditionStatus
		if containsValue(trueOnlyConditions, c.Type) {
			allowed = []corev1.ConditionStatus{corev1.ConditionTrue}
		}
		if c.Status == "" {
			errs = append(errs, field.Required(p.Child("status"), ""))
		} else if !containsValue(allowed, c.Status) {
			errs = append(errs, field.NotSupported(p.Child("status"), c.Status, allowed))
		}
		if !opts.allowDuplicateConditions && seen[c.Type] {
			errs = append(errs, field.Duplicate(p.Child("type"), c.Type))
		}
		seen[c.Type] = true
	}
	return errs
}

// approvedAndDenied reports a CSR that is both Approved and Denied, unless
// the old object already was.
func approvedAndDenied(csr *certificatesv1.CertificateSigningRequest, opts csrOptions) field.ErrorList {
	if opts.allowApprovedAndDenied || len(findCSRConditions(csr, certificatesv1.CertificateApproved)) == 0 || len(findCSRConditions(csr, certificatesv1.CertificateDenied)) == 0 {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("status", "conditions"), "{Approved, Denied}", "Approved and Denied conditions are mutually exclusive")}
}

func findCSRConditions(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

func csrUpdate(csr, old *certificatesv1.CertificateSigningRequest, opts csrOptions) field.ErrorList {
	errs := csrObject(csr, opts)
	cp := field.NewPath("status", "conditions")
	for _, t := range trueOnlyConditions {
		if len(findCSRConditions(csr, t)) < len(findCSRConditions(old, t)) {
			errs = append(errs, field.Forbidden(cp, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if !opts.allowApprovalConditions {
		for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
			n, o := findCSRConditions(csr, t), findCSRConditions(old, t)
			switch {
			case len(n) < len(o):
				// reported above
			case len(n) > len(o):
				errs = append(errs, field.Forbidden(cp, fmt.Sprintf("updates may not add a condition of type %q", t)))
			case !equality.Semantic.DeepEqual(n, o):
				errs = append(errs, field.Forbidden(cp, fmt.Sprintf("updates may not modify a condition of type %q", t)))
			}
		}
	}
	if !bytes.Equal(csr.Status.Certificate, old.Status.Certificate) {
		if !opts.allowSettingCertificate {
			errs = append(errs, field.Forbidden(field.NewPath("status", "certificate"), "updates may not set certificate content"))
		} else if len(old.Status.Certificate) > 0 {
			errs = append(errs, field.Forbidden(field.NewPath("status", "certificate"), "updates may not modify existing certificate content"))
		}
	}
	errs = append(errs, immutable(csr.Spec, old.Spec, field.NewPath("spec"))...)
	errs = append(errs, objectMetaUpdate(&csr.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, approvedAndDenied(csr, opts)...)
}
