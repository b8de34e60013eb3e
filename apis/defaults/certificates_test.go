package defaults

import (
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
)

func TestPodCertificateRequest(t *testing.T) {
	runCases(t, PodCertificateRequest, []defaultCase[certificatesv1.PodCertificateRequest]{{
		name: "maxExpirationSeconds one day",
		in:   certificatesv1.PodCertificateRequest{Spec: certificatesv1.PodCertificateRequestSpec{SignerName: "example.com/s"}},
		want: certificatesv1.PodCertificateRequest{Spec: certificatesv1.PodCertificateRequestSpec{SignerName: "example.com/s", MaxExpirationSeconds: new(int32(86400))}},
	}, {
		name: "maxExpirationSeconds kept",
		in:   certificatesv1.PodCertificateRequest{Spec: certificatesv1.PodCertificateRequestSpec{MaxExpirationSeconds: new(int32(3600))}},
		want: certificatesv1.PodCertificateRequest{Spec: certificatesv1.PodCertificateRequestSpec{MaxExpirationSeconds: new(int32(3600))}},
	}})
}
