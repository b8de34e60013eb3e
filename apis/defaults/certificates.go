package defaults

import (
	certificatesv1 "k8s.io/api/certificates/v1"
)

// PodCertificateRequest defaults a certificates.k8s.io/v1 pod certificate
// request: maxExpirationSeconds 86400 (24 hours).
func PodCertificateRequest(pcr *certificatesv1.PodCertificateRequest) {
	setIfNil(&pcr.Spec.MaxExpirationSeconds, int32(86400))
}
