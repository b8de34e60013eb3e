package certificates

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certinformers "k8s.io/client-go/informers/certificates/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// DefaultDuration is how long signed certificates last unless a request
// asks for less: upstream's --cluster-signing-duration default, a year.
const DefaultDuration = 365 * 24 * time.Hour

// backdate is how far before now a certificate starts, for clocks that lag.
const backdate = 5 * time.Minute

// minDuration is the shortest certificate a request may ask for.
const minDuration = 10 * time.Minute

// SignerConfig holds what the signer needs.
type SignerConfig struct {
	// Client writes the certificates. Required.
	Client kubernetes.Interface
	// Requests is a shared informer; the caller starts it. Required.
	Requests certinformers.CertificateSigningRequestInformer
	// CA and Key sign. Required.
	CA  *x509.Certificate
	Key crypto.Signer
	// Duration is the longest a certificate lasts. Zero: DefaultDuration.
	Duration time.Duration
}

// Signer signs approved requests of the kubernetes.io signers with the CA.
type Signer struct {
	client   kubernetes.Interface
	csrs     certlisters.CertificateSigningRequestLister
	ca       *x509.Certificate
	key      crypto.Signer
	duration time.Duration
	loop     *loop.Loop
	now      func() time.Time
}

// NewSigner returns the signer, its handlers registered; nothing runs until
// Run.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	if cfg.Client == nil || cfg.Requests == nil || cfg.CA == nil || cfg.Key == nil {
		return nil, errors.New("csr signer: Client, Requests, CA and Key are required")
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	s := &Signer{client: cfg.Client, csrs: cfg.Requests.Lister(), ca: cfg.CA, key: cfg.Key, duration: cfg.Duration, now: time.Now}
	s.loop = loop.New("csrsigning", s.sync)
	if err := loop.Watch(s.loop, cfg.Requests.Informer(), nameKey, false); err != nil {
		return nil, err
	}
	return s, nil
}

// Run signs until ctx ends.
func (s *Signer) Run(ctx context.Context, workers int) error { return s.loop.Run(ctx, workers) }

// validators check a request against what its signer signs.
var validators = map[string]func(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error{
	certificatesv1.KubeAPIServerClientKubeletSignerName: validateNodeClient,
	certificatesv1.KubeletServingSignerName:             validateNodeServing,
	certificatesv1.KubeAPIServerClientSignerName: func(_ *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
		client := false
		for _, u := range usages {
			switch u {
			case certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment:
			case certificatesv1.UsageClientAuth:
				client = true
			default:
				return fmt.Errorf("invalid usage for client certificate: %s", u)
			}
		}
		if !client {
			return fmt.Errorf("missing required usage for client certificate: %s", certificatesv1.UsageClientAuth)
		}
		return nil
	},
}

func (s *Signer) sync(ctx context.Context, name string) error {
	csr, err := s.csrs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	validate, ours := validators[csr.Spec.SignerName]
	if !ours || len(csr.Status.Certificate) > 0 || !hasCondition(csr, certificatesv1.CertificateApproved) ||
		hasCondition(csr, certificatesv1.CertificateDenied) || hasCondition(csr, certificatesv1.CertificateFailed) {
		return nil
	}
	csr = csr.DeepCopy()
	req, err := parseRequest(csr.Spec.Request)
	if err == nil {
		err = req.CheckSignature()
	}
	if err == nil {
		err = validate(req, csr.Spec.Usages)
	}
	if err != nil {
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue, Reason: "SignerValidationFailure", Message: err.Error(),
		})
	} else if csr.Status.Certificate, err = s.sign(req, csr.Spec.Usages, csr.Spec.ExpirationSeconds); err != nil {
		return fmt.Errorf("sign csr %s: %w", name, err)
	}
	if _, err := s.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update csr %s: %w", name, err)
	}
	return nil
}

// sign issues the certificate req asks for, PEM encoded.
func (s *Signer) sign(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage, expirationSeconds *int32) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := s.now()
	ttl := s.duration
	if expirationSeconds != nil {
		ttl = min(max(time.Duration(*expirationSeconds)*time.Second, minDuration), s.duration)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        req.Subject,
		DNSNames:       req.DNSNames,
		IPAddresses:    req.IPAddresses,
		EmailAddresses: req.EmailAddresses,
		URIs:           req.URIs,
		NotBefore:      now.Add(-backdate),
		NotAfter:       now.Add(ttl),
	}
	if tmpl.NotAfter.After(s.ca.NotAfter) {
		tmpl.NotAfter = s.ca.NotAfter
	}
	for _, u := range usages {
		switch u {
		case certificatesv1.UsageDigitalSignature:
			tmpl.KeyUsage |= x509.KeyUsageDigitalSignature
		case certificatesv1.UsageKeyEncipherment:
			tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
		case certificatesv1.UsageClientAuth:
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
		case certificatesv1.UsageServerAuth:
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, req.PublicKey, s.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
