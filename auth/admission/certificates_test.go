package admission_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
)

func csrPEM(t *testing.T, subject pkix.Name) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// TestCertificatePlugins: CertificateApproval and CertificateSigning ask
// for the approve and sign verbs on a request's signer (by name or by its
// domain's wildcard), and CertificateSubjectRestriction refuses
// system:masters certificates of the kube-apiserver-client signer, each
// with upstream's answer.
func TestCertificatePlugins(t *testing.T) {
	s := testserver.Start(t)
	ctx := context.Background()
	csrs := s.Client.CertificatesV1().CertificateSigningRequests()
	newCSR := func(name, signer string, subject pkix.Name) *certificatesv1.CertificateSigningRequest {
		t.Helper()
		csr, err := csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{Request: csrPEM(t, subject), SignerName: signer,
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create CSR %s: %v", name, err)
		}
		return csr
	}

	_, err := csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "masters"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: csrPEM(t, pkix.Name{CommonName: "eve", Organization: []string{"system:masters"}}),
			SignerName: certificatesv1.KubeAPIServerClientSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}},
	}, metav1.CreateOptions{})
	wantError(t, err, apierrors.IsForbidden, `certificatesigningrequests.certificates.k8s.io "masters" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed`)
	newCSR("masters-elsewhere", "example.com/client", pkix.Name{CommonName: "eve", Organization: []string{"system:masters"}})

	// carol may update requests' approval and status, and approve and sign
	// for example.com's signers only.
	if _, err := s.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "example-signer"},
		Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get", "update"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"certificatesigningrequests/approval", "certificatesigningrequests/status"}},
			{Verbs: []string{"approve", "sign"}, APIGroups: []string{certificatesv1.GroupName}, Resources: []string{"signers"}, ResourceNames: []string{"example.com/*"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "carol-example-signer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "example-signer"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "carol"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(s.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "carol"}
	carol := kubernetes.NewForConfigOrDie(cfg).CertificatesV1().CertificateSigningRequests()
	approve := func(csr *certificatesv1.CertificateSigningRequest) error {
		csr = csr.DeepCopy()
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test"})
		_, err := carol.UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
		return err
	}
	sign := func(name string) error {
		csr, err := csrs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue, Reason: "Test"})
		_, err = carol.UpdateStatus(ctx, csr, metav1.UpdateOptions{})
		return err
	}

	ours := newCSR("example", "example.com/client", pkix.Name{CommonName: "x"})
	// The binding reaches the authorizer's cache a moment after it is written.
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		err = approve(ours)
		return err == nil, nil
	}); err != nil {
		t.Fatalf("carol approves for example.com/client: %v", err)
	}
	if err := sign("example"); err != nil {
		t.Errorf("carol signs for example.com/client: %v", err)
	}
	theirs := newCSR("kube-client", certificatesv1.KubeAPIServerClientSignerName, pkix.Name{CommonName: "x"})
	wantError(t, approve(theirs), apierrors.IsForbidden,
		`certificatesigningrequests.certificates.k8s.io "kube-client" is forbidden: user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"`)
	newCSR("other-domain", "example.org/client", pkix.Name{CommonName: "x"})
	wantError(t, sign("other-domain"), apierrors.IsForbidden,
		`certificatesigningrequests.certificates.k8s.io "other-domain" is forbidden: user not permitted to sign requests with signerName "example.org/client"`)
}
