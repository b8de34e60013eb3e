package stream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// userKey is the context key of the authenticated user.
type userKey struct{}

// user is who a client certificate names: CommonName and Organizations.
type user struct {
	name   string
	groups []string
}

// authenticate lets through requests with a client certificate the client
// CA verified, with their user in the context; others get 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.TLS == nil || len(req.TLS.VerifiedChains) == 0 || len(req.TLS.VerifiedChains[0]) == 0 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		cert := req.TLS.VerifiedChains[0][0]
		u := user{name: cert.Subject.CommonName, groups: slices.Clone(cert.Subject.Organization)}
		if req.URL.Path == "/healthz" && !s.authorized(w, req.WithContext(context.WithValue(req.Context(), userKey{}, u)), s.cfg.NodeName) {
			return
		}
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), userKey{}, u)))
	})
}

// authorized asks whether the request's user may do what the request does
// to node, answering 403 if not: verb from the method, resource nodes,
// subresource healthz for /healthz and proxy for the rest, as upstream's
// kubelet.
func (s *Server) authorized(w http.ResponseWriter, req *http.Request, node string) bool {
	u, _ := req.Context().Value(userKey{}).(user)
	verb := map[string]string{http.MethodGet: "get", http.MethodHead: "get", http.MethodPost: "create",
		http.MethodPut: "update", http.MethodPatch: "patch", http.MethodDelete: "delete"}[req.Method]
	sub := "proxy"
	if req.URL.Path == "/healthz" {
		sub = "healthz"
	}
	attrs := authorizationv1.ResourceAttributes{Verb: verb, Resource: "nodes", Subresource: sub, Name: node}
	ok, reason, err := s.authz.allowed(req.Context(), u, attrs)
	if err != nil {
		http.Error(w, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=nodes, subresource=%s)", u.name, verb, sub), http.StatusInternalServerError)
		return false
	}
	if !ok {
		msg := fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)", u.name, verb, sub)
		if reason != "" {
			msg += ": " + reason
		}
		http.Error(w, msg, http.StatusForbidden)
		return false
	}
	return true
}

// Cache lifetimes of SubjectAccessReview answers, as upstream kubelet's
// --authorization-webhook-cache-authorized-ttl and -unauthorized-ttl.
const (
	allowedTTL = 5 * time.Minute
	deniedTTL  = 30 * time.Second
	maxCached  = 4096
)

// authorizer asks the API server SubjectAccessReviews and caches the answers.
type authorizer struct {
	client kubernetes.Interface
	now    func() time.Time

	mu      sync.Mutex
	answers map[string]answer
}

type answer struct {
	allowed bool
	reason  string
	expires time.Time
}

func newAuthorizer(client kubernetes.Interface) *authorizer {
	return &authorizer{client: client, now: time.Now, answers: map[string]answer{}}
}

func (a *authorizer) allowed(ctx context.Context, u user, attrs authorizationv1.ResourceAttributes) (bool, string, error) {
	if a.client == nil {
		return true, "", nil
	}
	key := strings.Join([]string{u.name, strings.Join(u.groups, ","), attrs.Verb, attrs.Subresource, attrs.Name}, "\x00")
	now := a.now()
	a.mu.Lock()
	ans, ok := a.answers[key]
	a.mu.Unlock()
	if ok && now.Before(ans.expires) {
		return ans.allowed, ans.reason, nil
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.name, Groups: u.groups, ResourceAttributes: &attrs,
	}}
	res, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, "", err
	}
	ans = answer{allowed: res.Status.Allowed, reason: res.Status.Reason, expires: now.Add(deniedTTL)}
	if ans.allowed {
		ans.expires = now.Add(allowedTTL)
	}
	a.mu.Lock()
	if len(a.answers) >= maxCached {
		clear(a.answers)
	}
	a.answers[key] = ans
	a.mu.Unlock()
	return ans.allowed, ans.reason, nil
}

// selfSigned makes a serving certificate for hosts signed by its own key,
// valid a year, as upstream's kubelet makes one when given none.
func selfSigned(hosts []string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	names, ips := hostsOf(hosts)
	now := time.Now()
	cn := "kubelite-node"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: fmt.Sprintf("%s@%d", cn, now.Unix())},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
