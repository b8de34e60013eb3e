package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// testPEM returns a signed CSR and a self-signed certificate, PEM encoded.
func testPEM(t *testing.T) (csr, cert []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "jane"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jane"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
}

func validCSR(request []byte) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "jane:client", ResourceVersion: "1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           request,
			SignerName:        certificatesv1.KubeAPIServerClientSignerName,
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			ExpirationSeconds: ptr(int32(3600)),
		},
	}
}

func csrCondition(t certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequestCondition {
	return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue, Reason: "Test"}
}

func TestCertificateSigningRequest(t *testing.T) {
	request, cert := testPEM(t)
	tests := []struct {
		name   string
		mutate func(c *certificatesv1.CertificateSigningRequest)
		want   []string
	}{
		{name: "valid", mutate: func(*certificatesv1.CertificateSigningRequest) {}},
		{name: "namespace forbidden", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Namespace = "default" },
			want: []string{"FieldValueForbidden metadata.namespace"}},
		{name: "request not PEM", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("hello") },
			want: []string{"FieldValueInvalid spec.request"}},
		{name: "request of wrong block type", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = cert },
			want: []string{"FieldValueInvalid spec.request"}},
		{name: "usages", mutate: func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = []certificatesv1.KeyUsage{"client auth", "client auth", "telepathy"}
		}, want: []string{"FieldValueNotSupported spec.usages[2]", "FieldValueDuplicate spec.usages[1]"}},
		{name: "usages required", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil },
			want: []string{"FieldValueRequired spec.usages"}},
		{name: "signer required", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "" },
			want: []string{"FieldValueRequired spec.signerName"}},
		{name: "signer qualified", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "kubernetes/Signer" },
			want: []string{"FieldValueInvalid spec.signerName", "FieldValueInvalid spec.signerName"}},
		{name: "signer path", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com" },
			want: []string{"FieldValueInvalid spec.signerName"}},
		{name: "legacy signer", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "kubernetes.io/legacy-unknown" },
			want: []string{"FieldValueInvalid spec.signerName"}},
		{name: "expiration", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = ptr(int32(599)) },
			want: []string{"FieldValueInvalid spec.expirationSeconds"}},
		{name: "conditions", mutate: func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{
				{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionFalse},
				{Type: "", Status: ""},
				{Type: "Reviewed", Status: corev1.ConditionUnknown},
				{Type: "Reviewed", Status: corev1.ConditionTrue},
			}
		}, want: []string{"FieldValueNotSupported status.conditions[0].status", "FieldValueRequired status.conditions[1].type",
			"FieldValueRequired status.conditions[1].status", "FieldValueDuplicate status.conditions[3].type"}},
		{name: "approved and denied", mutate: func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{csrCondition(certificatesv1.CertificateDenied), csrCondition(certificatesv1.CertificateApproved)}
			c.Spec.ExpirationSeconds = ptr(int32(60))
		}, want: []string{"FieldValueInvalid spec.expirationSeconds", "FieldValueInvalid status.conditions"}},
		{name: "certificate", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = request },
			want: []string{"FieldValueInvalid status.certificate"}},
		{name: "good certificate", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = cert }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validCSR(request)
			tc.mutate(c)
			checkErrs(t, CertificateSigningRequest(c), tc.want)
		})
	}
}

func TestCertificateSigningRequestUpdates(t *testing.T) {
	request, cert := testPEM(t)
	type validateFunc func(c, old *certificatesv1.CertificateSigningRequest) field.ErrorList
	main, status, approval := validateFunc(CertificateSigningRequestUpdate), validateFunc(CertificateSigningRequestStatusUpdate), validateFunc(CertificateSigningRequestApprovalUpdate)
	approved := []certificatesv1.CertificateSigningRequestCondition{csrCondition(certificatesv1.CertificateApproved)}
	tests := []struct {
		name     string
		validate validateFunc
		old      func(c *certificatesv1.CertificateSigningRequest)
		mutate   func(c *certificatesv1.CertificateSigningRequest)
		want     []string
	}{
		{name: "labels", validate: main, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Labels = map[string]string{"a": "b"} }},
		{name: "spec immutable", validate: main, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = c.Spec.Usages[:1] },
			want: []string{"FieldValueInvalid spec"}},
		{name: "approve via main", validate: main, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = approved },
			want: []string{`FieldValueForbidden status.conditions`}},
		{name: "certificate via main", validate: main, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = cert },
			want: []string{"FieldValueForbidden status.certificate"}},
		{name: "approve via approval", validate: approval, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = approved }},
		{name: "deny approved", validate: approval, old: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = approved },
			mutate: func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Conditions = append(c.Status.Conditions, csrCondition(certificatesv1.CertificateDenied))
			}, want: []string{"FieldValueInvalid status.conditions"}},
		{name: "both tolerated when old had both", validate: approval, old: func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = append(approved, csrCondition(certificatesv1.CertificateDenied))
		}, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions[0].Message = "ok" }},
		{name: "remove approval", validate: approval, old: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = approved },
			mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = nil },
			want:   []string{"FieldValueForbidden status.conditions"}},
		{name: "approve via status", validate: status, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = approved },
			want: []string{"FieldValueForbidden status.conditions"}},
		{name: "issue via status", validate: status, old: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = approved },
			mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = cert }},
		{name: "bad certificate via status", validate: status, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = request },
			want: []string{"FieldValueInvalid status.certificate"}},
		{name: "reissue via status", validate: status, old: func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = cert },
			mutate: func(c *certificatesv1.CertificateSigningRequest) { _, c.Status.Certificate = testPEM(t) },
			want:   []string{"FieldValueForbidden status.certificate"}},
		{name: "old unknown usages tolerated", validate: main, old: func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = []certificatesv1.KeyUsage{"telepathy", "telepathy"}
		}, mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Annotations = map[string]string{"a": "b"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validCSR(request)
			if tc.old != nil {
				tc.old(old)
			}
			c := old.DeepCopy()
			tc.mutate(c)
			checkErrs(t, tc.validate(c, old), tc.want)
		})
	}
}
