package validation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// certPEM returns a self-signed certificate, a CA when ca is set, valid
// from notBefore for lifetime, for key's public half.
func certPEM(t *testing.T, key *ecdsa.PrivateKey, ca bool, notBefore time.Time, lifetime time.Duration) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "test"},
		NotBefore: notBefore, NotAfter: notBefore.Add(lifetime), IsCA: ca, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func stubCSR(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestClusterTrustBundle(t *testing.T) {
	key := ecKey(t)
	root := certPEM(t, key, true, time.Now(), time.Hour)
	leaf := certPEM(t, key, false, time.Now(), time.Hour)
	tests := []struct {
		name, objName, signer, bundle string
		want                          []string
	}{
		{"no signer", "roots", "", root, nil},
		{"signer prefix", "example.com:signer:roots", "example.com/signer", root, nil},
		{"colon without signer", "example.com:roots", "", root, []string{"FieldValueInvalid metadata.name"}},
		{"wrong prefix", "other.com:signer:roots", "example.com/signer", root, []string{"FieldValueInvalid metadata.name"}},
		{"bad signer", "bad:roots", "bad", root, []string{"FieldValueInvalid spec.signerName"}},
		{"empty bundle", "roots", "", "", []string{"FieldValueInvalid spec.trustBundle"}},
		{"not a CA", "roots", "", leaf, []string{"FieldValueInvalid spec.trustBundle"}},
		{"duplicate", "roots", "", root + root, []string{"FieldValueInvalid spec.trustBundle"}},
		{"wrong block", "roots", "", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", []string{"FieldValueInvalid spec.trustBundle"}},
		{"too large", "roots", "", strings.Repeat("x", maxTrustBundleSize+1), []string{"FieldValueTooLong spec.trustBundle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &certificatesv1.ClusterTrustBundle{ObjectMeta: metav1.ObjectMeta{Name: tt.objName},
				Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: tt.signer, TrustBundle: tt.bundle}}
			checkErrs(t, ClusterTrustBundle(b), tt.want)
		})
	}

	old := &certificatesv1.ClusterTrustBundle{ObjectMeta: metav1.ObjectMeta{Name: "roots", ResourceVersion: "1"}, Spec: certificatesv1.ClusterTrustBundleSpec{TrustBundle: root}}
	moved := old.DeepCopy()
	moved.Spec.SignerName = "example.com/signer"
	checkErrs(t, ClusterTrustBundleUpdate(moved, old), []string{"FieldValueInvalid metadata.name", "FieldValueInvalid spec.signerName"})
}

func validPCR(t *testing.T, key crypto.Signer) *certificatesv1.PodCertificateRequest {
	return &certificatesv1.PodCertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "pcr", Namespace: "ns", ResourceVersion: "1"},
		Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: "example.com/signer", PodName: "web", PodUID: "pod-uid",
			ServiceAccountName: "default", ServiceAccountUID: "sa-uid", NodeName: "node-1", NodeUID: "node-uid",
			MaxExpirationSeconds: ptr(int32(86400)), StubPKCS10Request: stubCSR(t, key),
		},
	}
}

func TestPodCertificateRequest(t *testing.T) {
	key := ecKey(t)
	tests := []struct {
		name   string
		mutate func(*certificatesv1.PodCertificateRequest)
		want   []string
	}{
		{"valid", func(*certificatesv1.PodCertificateRequest) {}, nil},
		{"references", func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.PodName, r.Spec.PodUID, r.Spec.ServiceAccountName, r.Spec.NodeName = "Web", "", "", "node_1"
			r.Spec.NodeUID = types.UID(strings.Repeat("u", 129))
		}, []string{"FieldValueInvalid spec.podName", "FieldValueInvalid spec.podUID", "FieldValueInvalid spec.serviceAccountName",
			"FieldValueInvalid spec.nodeName", "FieldValueTooLong spec.nodeUID"}},
		{"signer", func(r *certificatesv1.PodCertificateRequest) { r.Spec.SignerName = "signer" }, []string{"FieldValueInvalid spec.signerName"}},
		{"annotations need a domain", func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.UnverifiedUserAnnotations = map[string]string{"plain": "x", "example.com/ok": "y"}
		}, []string{"FieldValueInvalid spec.unverifiedUserAnnotations"}},
		{"no max expiration", func(r *certificatesv1.PodCertificateRequest) { r.Spec.MaxExpirationSeconds = nil },
			[]string{"FieldValueRequired spec.maxExpirationSeconds"}},
		{"max expiration above 91 days", func(r *certificatesv1.PodCertificateRequest) { r.Spec.MaxExpirationSeconds = ptr(int32(7862401)) },
			[]string{"FieldValueInvalid spec.maxExpirationSeconds"}},
		{"kubernetes signers stop at a day", func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.SignerName = "kubernetes.io/kube-apiserver-client-pod"
			r.Spec.MaxExpirationSeconds = ptr(int32(86401))
		}, []string{"FieldValueInvalid spec.maxExpirationSeconds"}},
		{"max expiration below an hour", func(r *certificatesv1.PodCertificateRequest) { r.Spec.MaxExpirationSeconds = ptr(int32(3599)) },
			[]string{"FieldValueInvalid spec.maxExpirationSeconds"}},
		{"no stub request", func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = nil },
			[]string{"FieldValueInvalid spec"}},
		{"garbage stub request", func(r *certificatesv1.PodCertificateRequest) { r.Spec.StubPKCS10Request = []byte("nope") },
			[]string{"FieldValueInvalid spec.stubPKCS10Request"}},
		{"bad signature", func(r *certificatesv1.PodCertificateRequest) {
			r.Spec.StubPKCS10Request[len(r.Spec.StubPKCS10Request)-1] ^= 0xff
		}, []string{"FieldValueInvalid spec.stubPKCS10Request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validPCR(t, key)
			tt.mutate(r)
			checkErrs(t, PodCertificateRequest(r), tt.want)
		})
	}
}

func TestPodCertificateRequestStatus(t *testing.T) {
	key := ecKey(t)
	now := time.Now().Truncate(time.Second)
	old := validPCR(t, key)
	issued := func(chain string, nb, na, br time.Time) *certificatesv1.PodCertificateRequest {
		r := old.DeepCopy()
		r.Status = certificatesv1.PodCertificateRequestStatus{
			Conditions:       []metav1.Condition{{Type: "Issued", Status: metav1.ConditionTrue, Reason: "Test", LastTransitionTime: metav1.NewTime(now)}},
			CertificateChain: chain, NotBefore: ptr(metav1.NewTime(nb)), NotAfter: ptr(metav1.NewTime(na)), BeginRefreshAt: ptr(metav1.NewTime(br)),
		}
		return r
	}
	good := certPEM(t, key, false, now, time.Hour)
	tests := []struct {
		name string
		req  *certificatesv1.PodCertificateRequest
		old  *certificatesv1.PodCertificateRequest
		want []string
	}{
		{"issue", issued(good, now, now.Add(time.Hour), now.Add(30*time.Minute)), old, nil},
		{"other key", issued(certPEM(t, ecKey(t), false, now, time.Hour), now, now.Add(time.Hour), now.Add(30*time.Minute)), old,
			[]string{"FieldValueInvalid status.certificateChain"}},
		{"too short", issued(certPEM(t, key, false, now, 30*time.Minute), now, now.Add(30*time.Minute), now.Add(15*time.Minute)), old,
			[]string{"FieldValueInvalid status.certificateChain"}},
		{"notBefore mismatch", issued(good, now.Add(time.Second), now.Add(time.Hour), now.Add(30*time.Minute)), old,
			[]string{"FieldValueInvalid status.notBefore"}},
		{"refresh too late", issued(good, now, now.Add(time.Hour), now.Add(55*time.Minute)), old,
			[]string{"FieldValueInvalid status.beginRefreshAt"}},
		{"unknown condition", func() *certificatesv1.PodCertificateRequest {
			r := old.DeepCopy()
			r.Status.Conditions = []metav1.Condition{{Type: "Pending", Status: metav1.ConditionTrue, Reason: "Test", LastTransitionTime: metav1.NewTime(now)}}
			return r
		}(), old, []string{"FieldValueNotSupported status.conditions[0].type"}},
		{"deny with a chain", func() *certificatesv1.PodCertificateRequest {
			r := issued(good, now, now.Add(time.Hour), now.Add(30*time.Minute))
			r.Status.Conditions[0].Type = "Denied"
			return r
		}(), old, []string{"FieldValueInvalid status"}},
		{"issued is final", func() *certificatesv1.PodCertificateRequest {
			r := issued(good, now, now.Add(time.Hour), now.Add(30*time.Minute))
			r.Status.Conditions[0].Message = "changed"
			return r
		}(), issued(good, now, now.Add(time.Hour), now.Add(30*time.Minute)), []string{"FieldValueInvalid status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrs(t, podCertificateStatus(tt.req, tt.old, now), tt.want)
		})
	}
}
