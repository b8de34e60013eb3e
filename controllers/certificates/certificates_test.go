package certificates

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func request(t *testing.T, subject pkix.Name, dnsNames ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: dnsNames}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

var (
	clientUsages   = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	nodeSubject    = pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}
	proxierSubject = pkix.Name{CommonName: "system:kube-proxy"}
)

func csrObject(name, signer, username string, req []byte, usages []certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: req, SignerName: signer, Usages: usages, Username: username,
			Groups: []string{"system:bootstrappers"},
		},
	}
}

// TestApprover: node client requests are approved when the requester may
// create the matching subresource (selfnodeclient for a node's own, else
// nodeclient), and the node proxier's client request when it may create
// nodeproxier; others are left alone.
func TestApprover(t *testing.T) {
	csrs := []*certificatesv1.CertificateSigningRequest{
		csrObject("bootstrap", certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", request(t, nodeSubject), clientUsages),
		csrObject("renewal", certificatesv1.KubeAPIServerClientKubeletSignerName, "system:node:n1", request(t, nodeSubject), clientUsages),
		csrObject("stranger", certificatesv1.KubeAPIServerClientKubeletSignerName, "alice", request(t, nodeSubject), clientUsages),
		csrObject("not-a-node", certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", request(t, pkix.Name{CommonName: "alice", Organization: []string{"system:nodes"}}), clientUsages),
		csrObject("other-signer", certificatesv1.KubeAPIServerClientSignerName, "system:bootstrap:abcdef", request(t, nodeSubject), clientUsages),
		csrObject("proxier", certificatesv1.KubeAPIServerClientSignerName, "system:node:n1", request(t, proxierSubject), clientUsages),
		csrObject("proxier-by-bootstrapper", certificatesv1.KubeAPIServerClientSignerName, "system:bootstrap:abcdef", request(t, proxierSubject), clientUsages),
		csrObject("proxier-with-groups", certificatesv1.KubeAPIServerClientSignerName, "system:node:n1", request(t, pkix.Name{CommonName: "system:kube-proxy", Organization: []string{"system:masters"}}), clientUsages),
		csrObject("proxier-other-signer", certificatesv1.KubeAPIServerClientKubeletSignerName, "system:node:n1", request(t, proxierSubject), clientUsages),
		csrObject("proxier-serving", certificatesv1.KubeAPIServerClientSignerName, "system:node:n1", request(t, proxierSubject),
			[]certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}),
	}
	var objs []runtime.Object
	for _, c := range csrs {
		objs = append(objs, c)
	}
	client := fake.NewClientset(objs...)
	// Bootstrappers may ask for nodeclient, node n1 for selfnodeclient.
	client.PrependReactor("create", "subjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		sar := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		sub := sar.Spec.ResourceAttributes.Subresource
		sar.Status.Allowed = sub == "nodeclient" && sar.Spec.User == "system:bootstrap:abcdef" ||
			(sub == "selfnodeclient" || sub == "nodeproxier") && sar.Spec.User == "system:node:n1"
		return true, sar, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	a, err := NewApprover(ApproverConfig{Client: client, Requests: factory.Certificates().V1().CertificateSigningRequests()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range csrs {
		if err := factory.Certificates().V1().CertificateSigningRequests().Informer().GetIndexer().Add(c); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"bootstrap": "Auto approving kubelet client certificate after SubjectAccessReview.",
		"renewal":   "Auto approving self kubelet client certificate after SubjectAccessReview.",
		"proxier":   "Auto approving node proxier client certificate after SubjectAccessReview.",
	}
	for _, c := range csrs {
		_ = a.sync(context.Background(), c.Name)
		got, err := client.CertificatesV1().CertificateSigningRequests().Get(context.Background(), c.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var message string
		for _, cond := range got.Status.Conditions {
			if cond.Type == certificatesv1.CertificateApproved && cond.Status == corev1.ConditionTrue && cond.Reason == "AutoApproved" {
				message = cond.Message
			}
		}
		if message != want[c.Name] {
			t.Errorf("%s: approval %q, want %q", c.Name, message, want[c.Name])
		}
	}
}

// TestSigner: approved requests of the known signers are signed with the
// CA for the subject and usages asked, no longer than asked (at least ten
// minutes); requests that do not fit their signer are marked Failed;
// unapproved ones and other signers' are left alone.
func TestSigner(t *testing.T) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	approved := func(c *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequest {
		c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
		return c
	}
	short := csrObject("user", certificatesv1.KubeAPIServerClientSignerName, "alice", request(t, pkix.Name{CommonName: "alice", Organization: []string{"devs"}}), clientUsages)
	short.Spec.ExpirationSeconds = new(int32(60))
	csrs := []*certificatesv1.CertificateSigningRequest{
		approved(csrObject("node", certificatesv1.KubeAPIServerClientKubeletSignerName, "system:bootstrap:abcdef", request(t, nodeSubject), clientUsages)),
		approved(short),
		approved(csrObject("bad-node", certificatesv1.KubeAPIServerClientKubeletSignerName, "x", request(t, nodeSubject, "evil.example"), clientUsages)),
		csrObject("unapproved", certificatesv1.KubeAPIServerClientKubeletSignerName, "x", request(t, nodeSubject), clientUsages),
		approved(csrObject("foreign", "example.com/signer", "x", request(t, nodeSubject), clientUsages)),
	}
	var objs []runtime.Object
	for _, c := range csrs {
		objs = append(objs, c)
	}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	s, err := NewSigner(SignerConfig{Client: client, Requests: factory.Certificates().V1().CertificateSigningRequests(), CA: ca, Key: caKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range csrs {
		if err := factory.Certificates().V1().CertificateSigningRequests().Informer().GetIndexer().Add(c); err != nil {
			t.Fatal(err)
		}
		if err := s.sync(context.Background(), c.Name); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
	}
	get := func(name string) *certificatesv1.CertificateSigningRequest {
		c, err := client.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cert := func(name string) *x509.Certificate {
		c := get(name)
		b, _ := pem.Decode(c.Status.Certificate)
		if b == nil {
			t.Fatalf("%s: no certificate: %+v", name, c.Status)
		}
		crt, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := crt.CheckSignatureFrom(ca); err != nil {
			t.Errorf("%s: not signed by the CA: %v", name, err)
		}
		return crt
	}
	node := cert("node")
	if node.Subject.CommonName != "system:node:n1" || !slices.Equal(node.Subject.Organization, []string{"system:nodes"}) ||
		!slices.Equal(node.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) || node.NotAfter.After(ca.NotAfter) {
		t.Errorf("node certificate: %+v", node)
	}
	if user := cert("user"); user.NotAfter.Sub(now) > 11*time.Minute || user.NotAfter.Sub(now) < 9*time.Minute {
		t.Errorf("60 s asked: certificate until %v, want ten minutes", user.NotAfter)
	}
	bad := get("bad-node")
	if len(bad.Status.Certificate) > 0 || len(bad.Status.Conditions) != 2 || bad.Status.Conditions[1].Type != certificatesv1.CertificateFailed {
		t.Errorf("node request with a DNS name: %+v", bad.Status)
	}
	for _, name := range []string{"unapproved", "foreign"} {
		if c := get(name); len(c.Status.Certificate) > 0 || hasCondition(c, certificatesv1.CertificateFailed) {
			t.Errorf("%s: touched: %+v", name, c.Status)
		}
	}
}
