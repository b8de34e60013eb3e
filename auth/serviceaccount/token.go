// Package serviceaccount issues and verifies service account tokens: JWTs
// signed with the cluster's service account key, as upstream's TokenRequest
// API hands them out and its token authenticator accepts them.
//
// A token names its issuer, the audiences it is for, when it expires, and in
// the private "kubernetes.io" claim the namespace, the service account (name
// and uid) and, for a bound token, the pod, secret or node it is bound to.
// The authenticator accepts a token only while everything it names still
// exists with the same uid (and is not being deleted), so deleting the pod
// a token was bound to revokes it.
package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "gopkg.in/go-jose/go-jose.v2"
	"gopkg.in/go-jose/go-jose.v2/jwt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Extra keys of an authenticated service account user, as upstream sets them.
const (
	ExtraPodName      = "authentication.kubernetes.io/pod-name"
	ExtraPodUID       = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName     = "authentication.kubernetes.io/node-name"
	ExtraNodeUID      = "authentication.kubernetes.io/node-uid"
	ExtraCredentialID = "authentication.kubernetes.io/credential-id"
)

// leeway is how far clocks may disagree on nbf, iat and exp.
const leeway = time.Minute

// Ref names an object a token is bound to.
type Ref struct {
	Name string    `json:"name"`
	UID  types.UID `json:"uid"`
}

// Claims is what a token says about whom it is for.
type Claims struct {
	Namespace      string
	ServiceAccount Ref
	// Pod, Secret and Node are the objects the token is bound to, if any.
	Pod, Secret, Node *Ref
	// Audiences the token is for; ExpiresAt when it stops being valid.
	Audiences []string
	ExpiresAt time.Time
	// WarnAfter, when set, is the expiry the client asked for, before which
	// an extended token should have been refreshed.
	WarnAfter time.Time
}

// private is the "kubernetes.io" claim.
type private struct {
	Namespace      string `json:"namespace,omitempty"`
	ServiceAccount *Ref   `json:"serviceaccount,omitempty"`
	Pod            *Ref   `json:"pod,omitempty"`
	Secret         *Ref   `json:"secret,omitempty"`
	Node           *Ref   `json:"node,omitempty"`
	// WarnAfter is the expiry asked for of an extended token.
	WarnAfter *jwt.NumericDate `json:"warnafter,omitempty"`
}

type claims struct {
	jwt.Claims
	Kubernetes private `json:"kubernetes.io"`
}

// Getter reads the objects a token names; NotFound errors mean they are gone.
type Getter interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	Node(ctx context.Context, name string) (*corev1.Node, error)
}

// Issuer signs tokens with one key and verifies them.
type Issuer struct {
	issuer    string
	audiences []string
	signer    jose.Signer
	public    crypto.PublicKey
	now       func() time.Time
}

// NewIssuer returns an issuer that signs as issuer with key (ES256). Tokens
// requested without audiences are for apiAudiences, which the authenticator
// accepts.
func NewIssuer(issuer string, key *ecdsa.PrivateKey, apiAudiences []string) (*Issuer, error) {
	if issuer == "" || key == nil || len(apiAudiences) == 0 {
		return nil, errors.New("service account token issuer: issuer, key and API audiences are required")
	}
	signer, err := newSigner(key)
	if err != nil {
		return nil, err
	}
	return &Issuer{issuer: issuer, audiences: apiAudiences, signer: signer, public: &key.PublicKey, now: time.Now}, nil
}

// newSigner signs ES256 JWTs with key, naming it by its key id: the
// unpadded base64url SHA-256 of the public key, as upstream derives it, so
// that the key can be published and matched.
func newSigner(key *ecdsa.PrivateKey) (jose.Signer, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	keyID := base64.RawURLEncoding.EncodeToString(sum[:])
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
}

// APIAudiences are the audiences the API server accepts.
func (i *Issuer) APIAudiences() []string { return slices.Clone(i.audiences) }

// Issue signs a token for c.
func (i *Issuer) Issue(c Claims) (string, error) {
	now := i.now()
	aud := c.Audiences
	if len(aud) == 0 {
		aud = i.audiences
	}
	cl := claims{
		Claims: jwt.Claims{
			Issuer:    i.issuer,
			Subject:   apiserverserviceaccount.MakeUsername(c.Namespace, c.ServiceAccount.Name),
			Audience:  jwt.Audience(aud),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(c.ExpiresAt),
			ID:        string(uuid.NewUUID()),
		},
		Kubernetes: private{Namespace: c.Namespace, ServiceAccount: &c.ServiceAccount, Pod: c.Pod, Secret: c.Secret, Node: c.Node},
	}
	if !c.WarnAfter.IsZero() {
		cl.Kubernetes.WarnAfter = jwt.NewNumericDate(c.WarnAfter)
	}
	return jwt.Signed(i.signer).Claims(cl).CompactSerialize()
}

// Authenticator returns a token authenticator for this issuer's tokens that
// checks the objects they name with get.
func (i *Issuer) Authenticator(get Getter) authenticator.Token {
	return authenticator.TokenFunc(func(ctx context.Context, token string) (*authenticator.Response, bool, error) {
		return i.authenticate(ctx, token, get)
	})
}

func (i *Issuer) authenticate(ctx context.Context, token string, get Getter) (*authenticator.Response, bool, error) {
	if strings.Count(token, ".") != 2 {
		return nil, false, nil // not a JWT: another authenticator's
	}
	parsed, err := jwt.ParseSigned(token)
	if err != nil {
		return nil, false, nil
	}
	var unverified jwt.Claims
	if err := parsed.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, false, nil
	}
	if unverified.Issuer == LegacyIssuer {
		return i.authenticateLegacy(ctx, token, parsed, get)
	}
	if unverified.Issuer != i.issuer {
		return nil, false, nil // some other issuer's token
	}
	var cl claims
	if err := parsed.Claims(i.public, &cl); err != nil {
		return nil, false, errors.New("invalid bearer token")
	}
	if err := cl.ValidateWithLeeway(jwt.Expected{Issuer: i.issuer, Time: i.now()}, leeway); err != nil {
		if errors.Is(err, jwt.ErrExpired) {
			return nil, false, errors.New("service account token has expired")
		}
		return nil, false, fmt.Errorf("invalid bearer token: %w", err)
	}
	accepted := i.audiences
	if reqAud, ok := authenticator.AudiencesFrom(ctx); ok {
		accepted = reqAud
	}
	var matched []string
	for _, a := range cl.Audience {
		if slices.Contains(accepted, a) {
			matched = append(matched, a)
		}
	}
	if len(matched) == 0 {
		return nil, false, errors.New("token audiences are invalid")
	}
	k := cl.Kubernetes
	if k.Namespace == "" || k.ServiceAccount == nil {
		return nil, false, errors.New("invalid bearer token: not a service account token")
	}
	u := &user.DefaultInfo{
		Name:   apiserverserviceaccount.MakeUsername(k.Namespace, k.ServiceAccount.Name),
		UID:    string(k.ServiceAccount.UID),
		Groups: apiserverserviceaccount.MakeGroupNames(k.Namespace),
		Extra:  map[string][]string{ExtraCredentialID: {"JTI=" + cl.ID}},
	}
	sa, err := get.ServiceAccount(ctx, k.Namespace, k.ServiceAccount.Name)
	if err := live(sa, err, k.ServiceAccount.UID, "service account"); err != nil {
		return nil, false, err
	}
	if k.Pod != nil {
		p, err := get.Pod(ctx, k.Namespace, k.Pod.Name)
		if err := live(p, err, k.Pod.UID, "pod"); err != nil {
			return nil, false, err
		}
		u.Extra[ExtraPodName], u.Extra[ExtraPodUID] = []string{k.Pod.Name}, []string{string(k.Pod.UID)}
	}
	if k.Secret != nil {
		s, err := get.Secret(ctx, k.Namespace, k.Secret.Name)
		if err := live(s, err, k.Secret.UID, "secret"); err != nil {
			return nil, false, err
		}
	}
	switch {
	case k.Node != nil && k.Pod != nil:
		// The node the bound pod ran on, for information: the pod is
		// what the token lives by.
		u.Extra[ExtraNodeName] = []string{k.Node.Name}
		if k.Node.UID != "" {
			u.Extra[ExtraNodeUID] = []string{string(k.Node.UID)}
		}
	case k.Node != nil:
		n, err := get.Node(ctx, k.Node.Name)
		if err := live(n, err, k.Node.UID, "node"); err != nil {
			return nil, false, err
		}
		u.Extra[ExtraNodeName], u.Extra[ExtraNodeUID] = []string{k.Node.Name}, []string{string(k.Node.UID)}
	}
	return &authenticator.Response{User: u, Audiences: matched}, true, nil
}

// live checks that an object a token names still exists, is the same one
// (uid) and is not being deleted.
func live[T metav1.Object](obj T, err error, uid types.UID, what string) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s has been deleted", what)
	case err != nil:
		return fmt.Errorf("look up %s: %w", what, err)
	case obj.GetUID() != uid:
		return fmt.Errorf("%s %s UID (%s) does not match claim (%s)", what, obj.GetName(), obj.GetUID(), uid)
	case obj.GetDeletionTimestamp() != nil:
		return fmt.Errorf("%s %s is being deleted", what, obj.GetName())
	}
	return nil
}
