package clientcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// client signs a client certificate for cn in groups, valid until
// notAfter.
func (ca *testCA) client(t *testing.T, cn string, groups []string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: groups},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// counting counts the requests its authenticator is asked about.
type counting struct {
	authenticator.Request
	calls int
}

func (c *counting) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	c.calls++
	return c.Request.AuthenticateRequest(req)
}

func request(certs ...*x509.Certificate) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, "https://example/api", nil)
	if certs != nil {
		req.TLS = &tls.ConnectionState{PeerCertificates: certs}
	}
	return req
}

// options is a VerifyOptionFunc over pool that tests may switch.
type options struct{ pool *x509.CertPool }

func (o *options) fn() (x509.VerifyOptions, bool) {
	opts := x509request.DefaultVerifyOptions()
	opts.Roots = o.pool
	return opts, true
}

func newCache(o *options) (*Cache, *counting) {
	inner := &counting{Request: x509request.NewDynamic(o.fn, x509request.CommonNameUserConversion)}
	return New(inner, o.fn), inner
}

func TestCacheVerifiesOnce(t *testing.T) {
	ca := newCA(t, "ca")
	o := &options{pool: ca.pool}
	c, inner := newCache(o)
	cert := ca.client(t, "alice", []string{"admins"}, time.Now().Add(time.Hour))
	for i := range 3 {
		resp, ok, err := c.AuthenticateRequest(request(cert))
		if err != nil || !ok {
			t.Fatalf("request %d: ok %v, err %v", i, ok, err)
		}
		if resp.User.GetName() != "alice" || len(resp.User.GetGroups()) != 1 || resp.User.GetGroups()[0] != "admins" {
			t.Fatalf("request %d: user %+v, want alice in admins", i, resp.User)
		}
		// A caller changing its answer changes no one else's.
		resp.User.GetGroups()[0] = "changed"
	}
	if inner.calls != 1 {
		t.Errorf("inner authenticator asked %d times, want once", inner.calls)
	}
	// Another certificate is verified on its own.
	other := ca.client(t, "bob", nil, time.Now().Add(time.Hour))
	if resp, ok, err := c.AuthenticateRequest(request(other)); err != nil || !ok || resp.User.GetName() != "bob" {
		t.Fatalf("bob: %v %v %v", resp, ok, err)
	}
	if inner.calls != 2 {
		t.Errorf("inner authenticator asked %d times, want 2", inner.calls)
	}
}

func TestCacheRejects(t *testing.T) {
	ca, stranger := newCA(t, "ca"), newCA(t, "stranger")
	o := &options{pool: ca.pool}
	c, inner := newCache(o)
	cert := stranger.client(t, "mallory", nil, time.Now().Add(time.Hour))
	for i := range 2 {
		if _, ok, err := c.AuthenticateRequest(request(cert)); err == nil || ok {
			t.Fatalf("request %d: a chain of another CA: ok %v, err %v; want an error", i, ok, err)
		}
	}
	if inner.calls != 2 {
		t.Errorf("a refused chain: inner asked %d times, want each time (2)", inner.calls)
	}
	// No certificate: not this authenticator's business.
	if _, ok, err := c.AuthenticateRequest(request()); ok || err != nil {
		t.Errorf("no certificate: ok %v, err %v", ok, err)
	}
}

func TestCacheNewCAPool(t *testing.T) {
	ca := newCA(t, "ca")
	o := &options{pool: ca.pool}
	c, inner := newCache(o)
	cert := ca.client(t, "alice", nil, time.Now().Add(time.Hour))
	if _, ok, err := c.AuthenticateRequest(request(cert)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	// The client CA is replaced by one that did not sign alice's
	// certificate: the remembered verification no longer holds.
	o.pool = newCA(t, "new").pool
	if _, ok, err := c.AuthenticateRequest(request(cert)); ok || err == nil {
		t.Errorf("after the CA changed: ok %v, err %v; want refused", ok, err)
	}
	if inner.calls != 2 {
		t.Errorf("inner asked %d times, want 2", inner.calls)
	}
}

func TestCacheExpiry(t *testing.T) {
	ca := newCA(t, "ca")
	o := &options{pool: ca.pool}
	c, inner := newCache(o)
	notAfter := time.Now().Add(time.Hour)
	cert := ca.client(t, "alice", nil, notAfter)
	now := time.Now()
	c.now = func() time.Time { return now }
	if _, ok, err := c.AuthenticateRequest(request(cert)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	now = notAfter.Add(-time.Second)
	if _, ok, err := c.AuthenticateRequest(request(cert)); !ok || err != nil || inner.calls != 1 {
		t.Fatalf("before expiry: ok %v err %v, inner asked %d times (want once)", ok, err, inner.calls)
	}
	// Past the certificate's NotAfter the entry is not used: the inner
	// authenticator decides again.
	now = notAfter.Add(time.Second)
	_, _, _ = c.AuthenticateRequest(request(cert))
	if inner.calls != 2 {
		t.Errorf("after expiry: inner asked %d times, want 2", inner.calls)
	}
}
