package validation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/mail"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of pod certificates, as upstream's.
const (
	maxTrustBundleSize           = 1024 * 1024
	maxStubPKCS10RequestSize     = 10 * 1024
	maxCertificateChainSize      = 100 * 1024
	maxUIDLength                 = 128
	minPodCertificateLifetime    = 60 * 60           // 1h
	maxPodCertificateLifetime    = 91 * 24 * 60 * 60 // 91d
	maxKubernetesSignerLifetime  = 24 * 60 * 60      // 1d for kubernetes.io signers
	podCertificateClockSkew      = 5 * time.Minute
	podCertificateRefreshMargin  = 10 * time.Minute
	terminalPodCertificateDetail = "immutable after PodCertificateRequest is issued, denied, or failed"
)

var pcrConditionTypes = []string{certificatesv1.PodCertificateRequestConditionTypeIssued, certificatesv1.PodCertificateRequestConditionTypeDenied, certificatesv1.PodCertificateRequestConditionTypeFailed}

// isKubernetesSigner reports whether a signer name is reserved for the
// Kubernetes project: its domain is kubernetes.io or below it.
func isKubernetesSigner(name string) bool {
	domain, _, _ := strings.Cut(name, "/")
	return domain == "kubernetes.io" || strings.HasSuffix(domain, ".kubernetes.io")
}

// clusterTrustBundleName returns the name rule of a trust bundle: without a
// signer, a DNS subdomain without ":"; with one, "<signer with : for />:"
// followed by a DNS subdomain.
func clusterTrustBundleName(signer string) nameFunc {
	return func(name string, prefix bool) []string {
		if signer == "" {
			if strings.Contains(name, ":") {
				return []string{`ClusterTrustBundle without signer name must not have ":" in its name`}
			}
			return apimachineryvalidation.NameIsDNSSubdomain(name, prefix)
		}
		want := strings.ReplaceAll(signer, "/", ":") + ":"
		if !strings.HasPrefix(name, want) {
			return []string{fmt.Sprintf("ClusterTrustBundle for signerName %s must be named with prefix %s", signer, want)}
		}
		return apimachineryvalidation.NameIsDNSSubdomain(strings.TrimPrefix(name, want), prefix)
	}
}

// ClusterTrustBundle validates a trust bundle on create: its name against
// its signer, the signer name when set, and the bundle itself.
func ClusterTrustBundle(b *certificatesv1.ClusterTrustBundle) field.ErrorList {
	return clusterTrustBundle(b, true)
}

func clusterTrustBundle(b *certificatesv1.ClusterTrustBundle, parseBundle bool) field.ErrorList {
	errs := objectMeta(&b.ObjectMeta, false, clusterTrustBundleName(b.Spec.SignerName))
	if b.Spec.SignerName != "" {
		errs = append(errs, signerName(b.Spec.SignerName, field.NewPath("spec", "signerName"))...)
	}
	if parseBundle {
		errs = append(errs, trustBundle(b.Spec.TrustBundle, field.NewPath("spec", "trustBundle"))...)
	}
	return errs
}

// ClusterTrustBundleUpdate validates an update: as a create, except that an
// unchanged bundle is not parsed again, and the signer name is immutable.
func ClusterTrustBundleUpdate(b, old *certificatesv1.ClusterTrustBundle) field.ErrorList {
	errs := clusterTrustBundle(b, b.Spec.TrustBundle != old.Spec.TrustBundle)
	errs = append(errs, objectMetaUpdate(&b.ObjectMeta, &old.ObjectMeta)...)
	return append(errs, immutable(b.Spec.SignerName, old.Spec.SignerName, field.NewPath("spec", "signerName"))...)
}

// trustBundle requires at most 1 MiB of CERTIFICATE blocks without headers,
// each a CA certificate with valid basic constraints, at least one, and no
// two alike.
func trustBundle(bundle string, fldPath *field.Path) field.ErrorList {
	if len(bundle) > maxTrustBundleSize {
		return field.ErrorList{field.TooLong(fldPath, "", maxTrustBundleSize)}
	}
	var errs field.ErrorList
	bad := func(i int, what string) {
		errs = append(errs, field.Invalid(fldPath, "<value omitted>", fmt.Sprintf("entry %d %s", i, what)))
	}
	seen := map[string][]int{}
	var order []string
	rest := []byte(bundle)
	for i := 0; ; i++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			bad(i, "has bad block type: "+b.Type)
			continue
		}
		if len(b.Headers) != 0 {
			bad(i, "has PEM block headers")
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		switch {
		case err != nil:
			bad(i, "does not parse as X.509")
			continue
		case !cert.IsCA:
			bad(i, "does not have the CA bit set")
			continue
		case !cert.BasicConstraintsValid:
			bad(i, "has invalid basic constraints")
			continue
		}
		if seen[string(b.Bytes)] == nil {
			order = append(order, string(b.Bytes))
		}
		seen[string(b.Bytes)] = append(seen[string(b.Bytes)], i)
	}
	if len(errs) > 0 {
		return errs
	}
	if len(seen) == 0 {
		return field.ErrorList{field.Invalid(fldPath, "<value omitted>", "at least one trust anchor must be provided")}
	}
	for _, k := range order {
		if idx := seen[k]; len(idx) > 1 {
			errs = append(errs, field.Invalid(fldPath, "<value omitted>", fmt.Sprintf("duplicate trust anchor (indices %v)", idx)))
		}
	}
	return errs
}

// PodCertificateRequest validates a pod certificate request on create: the
// signer name, domain-prefixed user annotations, the pod, service account
// and node it is for, maxExpirationSeconds within [1h, 91d] (1d for
// kubernetes.io signers), and a signed PKCS#10 stub request whose key is
// RSA 3072/4096, ECDSA P-256/384/521 or Ed25519.
func PodCertificateRequest(req *certificatesv1.PodCertificateRequest) field.ErrorList {
	errs := objectMeta(&req.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	sp := field.NewPath("spec")
	spec := &req.Spec
	errs = append(errs, signerName(spec.SignerName, sp.Child("signerName"))...)
	if spec.UnverifiedUserAnnotations != nil {
		errs = append(errs, userAnnotations(spec.UnverifiedUserAnnotations, sp.Child("unverifiedUserAnnotations"))...)
	}
	errs = append(errs, msgs(sp.Child("podName"), spec.PodName, apimachineryvalidation.NameIsDNSSubdomain(spec.PodName, false))...)
	errs = append(errs, requiredUID(string(spec.PodUID), sp.Child("podUID"))...)
	errs = append(errs, msgs(sp.Child("serviceAccountName"), spec.ServiceAccountName, apimachineryvalidation.ValidateServiceAccountName(spec.ServiceAccountName, false))...)
	errs = append(errs, requiredUID(string(spec.ServiceAccountUID), sp.Child("serviceAccountUID"))...)
	errs = append(errs, msgs(sp.Child("nodeName"), spec.NodeName, apimachineryvalidation.NameIsDNSSubdomain(string(spec.NodeName), false))...)
	errs = append(errs, requiredUID(string(spec.NodeUID), sp.Child("nodeUID"))...)

	mp := sp.Child("maxExpirationSeconds")
	if spec.MaxExpirationSeconds == nil {
		return append(errs, field.Required(mp, "must be set"))
	}
	hi := maxPodCertificateLifetime
	if isKubernetesSigner(spec.SignerName) {
		hi = maxKubernetesSignerLifetime
	}
	if s := *spec.MaxExpirationSeconds; s < minPodCertificateLifetime || int(s) > hi {
		errs = append(errs, field.Invalid(mp, spec.MaxExpirationSeconds, fmt.Sprintf("must be in the range [%d, %d]", minPodCertificateLifetime, hi)))
	}
	if len(spec.StubPKCS10Request) == 0 {
		return append(errs, field.Invalid(sp, field.OmitValueType{}, "exactly one of (stubPKCS10Request) or (pkixPublicKey, proofOfPossession) must be set"))
	}
	return append(errs, stubRequest(spec.StubPKCS10Request, sp.Child("stubPKCS10Request"))...)
}

// requiredUID requires a non-empty uid of at most 128 bytes.
func requiredUID(uid string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if uid == "" {
		errs = append(errs, field.Invalid(fldPath, uid, "must not be empty"))
	}
	if len(uid) > maxUIDLength {
		errs = append(errs, field.TooLong(fldPath, uid, maxUIDLength))
	}
	return errs
}

// userAnnotations requires domain-prefixed keys (compared in lower case)
// and the total size limit of annotations.
func userAnnotations(a map[string]string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k := range a {
		errs = append(errs, utilvalidation.IsDomainPrefixedKey(fldPath, strings.ToLower(k))...)
	}
	if err := apimachineryvalidation.ValidateAnnotationsSize(a); err != nil {
		errs = append(errs, field.TooLong(fldPath, "", apimachineryvalidation.TotalAnnotationSizeLimitB))
	}
	return errs
}

// stubRequest parses a DER PKCS#10 request, checks the kind of its public
// key and its signature; upstream ignores the rest of its content.
func stubRequest(der []byte, fldPath *field.Path) field.ErrorList {
	if len(der) > maxStubPKCS10RequestSize {
		return field.ErrorList{field.TooLong(fldPath, der, maxStubPKCS10RequestSize)}
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "must be a valid PKCS#10 CSR")}
	}
	switch pub := req.PublicKey.(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() && pub.Curve != elliptic.P521() {
			return field.ErrorList{field.Invalid(fldPath, "curve "+pub.Curve.Params().Name, "elliptic public keys must use curve P256, P384, or P521")}
		}
	case *rsa.PublicKey:
		if bits := pub.Size() * 8; bits != 3072 && bits != 4096 {
			return field.ErrorList{field.Invalid(fldPath, fmt.Sprintf("%d-bit modulus", bits), "RSA keys must have modulus size 3072 or 4096")}
		}
	default:
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "unknown public key type; supported types are Ed25519, ECDSA, and RSA")}
	}
	if err := req.CheckSignature(); err != nil {
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "invalid signature")}
	}
	return nil
}

// PodCertificateRequestUpdate validates an update of the main resource: the
// spec is immutable.
func PodCertificateRequestUpdate(req, old *certificatesv1.PodCertificateRequest) field.ErrorList {
	errs := objectMetaUpdate(&req.ObjectMeta, &old.ObjectMeta)
	return append(errs, immutable(req.Spec, old.Spec, field.NewPath("spec"))...)
}

// PodCertificateRequestStatusUpdate validates a write to the status against
// the current time.
func PodCertificateRequestStatusUpdate(req, old *certificatesv1.PodCertificateRequest) field.ErrorList {
	return podCertificateStatus(req, old, time.Now())
}

// podCertificateStatus checks a status write: only the Issued, Denied and
// Failed conditions, at most one, with status True. A request in one of
// them no longer changes. Denying or failing sets nothing but the
// condition. Issuing sets a chain of certificates whose leaf is for the
// requested key, lives 1h to maxExpirationSeconds, starts within 5 minutes
// of now, and matches notBefore and notAfter, with beginRefreshAt at least
// 10 minutes inside that window. Otherwise the status stays as it was.
func podCertificateStatus(req, old *certificatesv1.PodCertificateRequest, now time.Time) field.ErrorList {
	errs := objectMetaUpdate(&req.ObjectMeta, &old.ObjectMeta)
	if len(errs) > 0 {
		return errs
	}
	sp := field.NewPath("status")
	cp := sp.Child("conditions")
	terminal := 0
	for i, c := range req.Status.Conditions {
		if !containsValue(pcrConditionTypes, c.Type) {
			errs = append(errs, field.NotSupported(cp.Index(i).Child("type"), c.Type, pcrConditionTypes))
			continue
		}
		if terminal++; terminal > 1 {
			errs = append(errs, field.Invalid(cp.Index(i).Child("type"), c.Type, `There may be at most one condition with type "Issued", "Denied", or "Failed"`))
		}
		if c.Status != metav1.ConditionTrue {
			errs = append(errs, field.NotSupported(cp.Index(i).Child("status"), c.Status, []metav1.ConditionStatus{metav1.ConditionTrue}))
		}
	}
	errs = append(errs, metav1validation.ValidateConditions(req.Status.Conditions, cp)...)
	if len(errs) > 0 {
		return errs
	}

	unchanged := func(want certificatesv1.PodCertificateRequestStatus, detail string) field.ErrorList {
		if equality.Semantic.DeepEqual(req.Status, want) {
			return nil
		}
		return field.ErrorList{field.Invalid(sp, field.OmitValueType{}, detail)}
	}
	switch {
	case pcrHas(old, certificatesv1.PodCertificateRequestConditionTypeIssued) || pcrHas(old, certificatesv1.PodCertificateRequestConditionTypeDenied) || pcrHas(old, certificatesv1.PodCertificateRequestConditionTypeFailed):
		return unchanged(old.Status, terminalPodCertificateDetail)
	case pcrHas(req, certificatesv1.PodCertificateRequestConditionTypeDenied) || pcrHas(req, certificatesv1.PodCertificateRequestConditionTypeFailed):
		return unchanged(certificatesv1.PodCertificateRequestStatus{Conditions: req.Status.Conditions}, "non-condition status fields must be empty when denying or failing the PodCertificateRequest")
	case pcrHas(req, certificatesv1.PodCertificateRequestConditionTypeIssued):
		return issuedCertificate(req, old, now)
	default:
		return unchanged(old.Status, `status is immutable unless transitioning to "Issued", "Denied", or "Failed"`)
	}
}

func pcrHas(req *certificatesv1.PodCertificateRequest, t string) bool {
	for _, c := range req.Status.Conditions {
		if c.Type == t && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

// issuedCertificate checks the status of a request being issued.
func issuedCertificate(req, old *certificatesv1.PodCertificateRequest, now time.Time) field.ErrorList {
	chainPath := field.NewPath("status", "certificateChain")
	st := &req.Status
	if len(st.CertificateChain) > maxCertificateChainSize {
		return field.ErrorList{field.TooLong(chainPath, st.CertificateChain, maxCertificateChainSize)}
	}
	invalidChain := func(detail string) field.ErrorList {
		return field.ErrorList{field.Invalid(chainPath, st.CertificateChain, detail)}
	}
	leafBlock, rest := pem.Decode([]byte(st.CertificateChain))
	switch {
	case leafBlock == nil:
		return invalidChain("issued certificate chain must contain at least one certificate")
	case leafBlock.Type != "CERTIFICATE":
		return invalidChain("issued certificate chain must consist entirely of CERTIFICATE PEM blocks")
	}
	leaf, err := x509.ParseCertificate(leafBlock.Bytes)
	if err != nil {
		return invalidChain("leaf certificate does not parse as valid X.509")
	}
	var errs field.ErrorList
	for _, n := range leaf.DNSNames {
		if n == "" {
			errs = append(errs, field.Invalid(chainPath, n, "leaf certificate should not contain empty DNSName"))
		}
		if strings.Contains(n, "..") {
			errs = append(errs, field.Invalid(chainPath, n, "leaf certificate's DNSName should not contain '..'"))
		}
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".") {
			errs = append(errs, field.Invalid(chainPath, n, "leaf certificate's DNSName should not start or end with '.'"))
		}
	}
	for _, a := range leaf.EmailAddresses {
		if _, err := mail.ParseAddress(a); err != nil {
			errs = append(errs, field.Invalid(chainPath, a, "leaf certificate should not contain invalid EmailAddress"))
		}
	}

	stub, err := x509.ParseCertificateRequest(old.Spec.StubPKCS10Request)
	if err != nil {
		return append(errs, field.Invalid(field.NewPath("spec", "stubPKCS10Request"), field.OmitValueType{}, "must be a valid PKCS#10 CSR"))
	}
	if want, ok := stub.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && !want.Equal(leaf.PublicKey) {
		return append(errs, invalidChain("leaf certificate was not issued to the requested public key")...)
	}

	notBefore, notAfter, refresh := field.NewPath("status", "notBefore"), field.NewPath("status", "notAfter"), field.NewPath("status", "beginRefreshAt")
	if st.NotBefore == nil {
		errs = append(errs, field.Required(notBefore, "must be present and consistent with the issued certificate"))
	}
	if st.NotAfter == nil {
		errs = append(errs, field.Required(notAfter, "must be present and consistent with the issued certificate"))
	}
	if st.BeginRefreshAt == nil {
		errs = append(errs, field.Required(refresh, "must be present and in the range [notbefore+10min, notafter-10min]"))
	}
	if len(errs) > 0 {
		return errs
	}
	nb, na, br := st.NotBefore.Time, st.NotAfter.Time, st.BeginRefreshAt.Time
	switch lifetime := leaf.NotAfter.Sub(leaf.NotBefore); {
	case !nb.Equal(leaf.NotBefore):
		return field.ErrorList{field.Invalid(notBefore, nb, "must be set to the NotBefore time encoded in the leaf certificate")}
	case !nb.After(now.Add(-podCertificateClockSkew)) || !nb.Before(now.Add(podCertificateClockSkew)):
		return field.ErrorList{field.Invalid(notBefore, nb, "must be set to within 5 minutes of kube-apiserver's current time")}
	case !na.Equal(leaf.NotAfter):
		return field.ErrorList{field.Invalid(notAfter, na, "must be set to the NotAfter time encoded in the leaf certificate")}
	case lifetime < time.Hour:
		return field.ErrorList{field.Invalid(chainPath, lifetime, "leaf certificate lifetime must be >= 1 hour")}
	case lifetime > time.Duration(*req.Spec.MaxExpirationSeconds)*time.Second:
		return field.ErrorList{field.Invalid(chainPath, lifetime, fmt.Sprintf("leaf certificate lifetime must be <= spec.maxExpirationSeconds (%v)", *req.Spec.MaxExpirationSeconds))}
	case br.Before(nb.Add(podCertificateRefreshMargin)):
		return field.ErrorList{field.Invalid(refresh, br, "must be at least 10 minutes after status.notBefore")}
	case br.After(na.Add(-podCertificateRefreshMargin)):
		return field.ErrorList{field.Invalid(refresh, br, "must be at least 10 minutes before status.notAfter")}
	}
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil
		}
		if b.Type != "CERTIFICATE" {
			return invalidChain("issued certificate chain must consist entirely of CERTFICATE PEM blocks")
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return invalidChain("intermediate certificate does not parse as valid X.509")
		}
	}
}
