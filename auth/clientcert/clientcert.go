// Package clientcert remembers which client certificate chains the API
// server has verified, so that a client sending many requests over one
// connection pays for the chain's signature checks once, not per request.
//
// kube-apiserver's x509 authenticator verifies the presented chain against
// the client CA on every request: an ECDSA verification per request, about a
// tenth of the server's CPU while a scheduler binds pods at full speed. The
// outcome of a verification depends only on the chain presented, the verify
// options (the CA pool) and the time; Cache keys its entries by the first two
// and keeps each only while every certificate of the verified chain is
// within its validity period, so that a hit answers exactly what a new
// verification would.
package clientcert

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"net/http"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/user"
)

// maxEntries bounds the cache: a server has few distinct clients with
// certificates (components, nodes, admins); past this many, it starts over.
const maxEntries = 1024

// Cache is an authenticator.Request that answers for the chains its inner
// x509 authenticator accepted before, and asks it otherwise.
type Cache struct {
	inner   authenticator.Request
	options x509request.VerifyOptionFunc
	now     func() time.Time

	mu      sync.Mutex
	entries map[key]entry
}

// key is a presented chain (the hash of each certificate's DER, in order)
// and the CA pool it was verified against: a new pool (the client CA
// reloaded) starts new entries.
type key struct {
	chain [sha256.Size]byte
	roots *x509.CertPool
}

// entry is a verified chain's user, and when the verification holds.
type entry struct {
	name, uid    string
	groups       []string
	extra        map[string][]string
	audiences    authenticator.Audiences
	hasAudiences bool
	// notBefore and notAfter bound the validity periods of the verified
	// chains' certificates.
	notBefore, notAfter time.Time
}

// New returns a Cache in front of inner, an x509 authenticator built on the
// same options (x509request.NewDynamic(options, ...)); the user it finds
// for a chain must depend on nothing but the chain.
func New(inner authenticator.Request, options x509request.VerifyOptionFunc) *Cache {
	return &Cache{inner: inner, options: options, now: time.Now, entries: map[key]entry{}}
}

// AuthenticateRequest returns the remembered user of the request's
// certificate chain, or asks the inner authenticator and remembers what it
// accepts.
func (c *Cache) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
		return c.inner.AuthenticateRequest(req)
	}
	opts, ok := c.options()
	if !ok {
		return c.inner.AuthenticateRequest(req)
	}
	certs := req.TLS.PeerCertificates
	k := key{chain: chainHash(certs), roots: opts.Roots}
	now := c.now()
	c.mu.Lock()
	e, found := c.entries[k]
	c.mu.Unlock()
	if found && !now.Before(e.notBefore) && now.Before(e.notAfter) {
		return e.response(), true, nil
	}
	resp, ok, err := c.inner.AuthenticateRequest(req)
	if err != nil || !ok {
		return resp, ok, err
	}
	// The inner authenticator accepted the chain: find the validity of
	// the chains it verified, which the Response does not tell.
	e, cacheable := verified(certs, opts, resp, now)
	if cacheable {
		c.mu.Lock()
		if len(c.entries) >= maxEntries {
			clear(c.entries)
		}
		c.entries[k] = e
		c.mu.Unlock()
	}
	return resp, ok, err
}

// verified verifies certs as the x509 authenticator does and returns an
// entry for resp valid while every certificate of every verified chain is.
func verified(certs []*x509.Certificate, opts x509.VerifyOptions, resp *authenticator.Response, now time.Time) (entry, bool) {
	if opts.Intermediates == nil && len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	opts.CurrentTime = now
	chains, err := certs[0].Verify(opts)
	if err != nil || len(chains) == 0 || resp.User == nil {
		return entry{}, false
	}
	e := entry{
		name:      resp.User.GetName(),
		uid:       resp.User.GetUID(),
		groups:    append([]string(nil), resp.User.GetGroups()...),
		audiences: append(authenticator.Audiences(nil), resp.Audiences...),
	}
	e.hasAudiences = resp.Audiences != nil
	if extra := resp.User.GetExtra(); extra != nil {
		e.extra = make(map[string][]string, len(extra))
		for k, v := range extra {
			e.extra[k] = append([]string(nil), v...)
		}
	}
	for _, chain := range chains {
		for _, cert := range chain {
			if e.notBefore.IsZero() || cert.NotBefore.After(e.notBefore) {
				e.notBefore = cert.NotBefore
			}
			if e.notAfter.IsZero() || cert.NotAfter.Before(e.notAfter) {
				e.notAfter = cert.NotAfter
			}
		}
	}
	return e, true
}

// response is a fresh Response for e, sharing nothing with other callers'.
func (e entry) response() *authenticator.Response {
	u := &user.DefaultInfo{Name: e.name, UID: e.uid, Groups: append([]string(nil), e.groups...)}
	if e.extra != nil {
		u.Extra = make(map[string][]string, len(e.extra))
		for k, v := range e.extra {
			u.Extra[k] = append([]string(nil), v...)
		}
	}
	r := &authenticator.Response{User: u}
	if e.hasAudiences {
		r.Audiences = append(authenticator.Audiences{}, e.audiences...)
	}
	return r
}

// chainHash hashes the DER of each certificate, length-prefixed, in order.
func chainHash(certs []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, c := range certs {
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
