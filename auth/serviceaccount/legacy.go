package serviceaccount

import (
	"context"
	"crypto/ecdsa"
	"crypto/subtle"
	"errors"
	"fmt"

	jose "gopkg.in/go-jose/go-jose.v2"
	"gopkg.in/go-jose/go-jose.v2/jwt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
)

// LegacyIssuer is the iss of the tokens in service account token Secrets
// (type kubernetes.io/service-account-token): they never expire, name no
// audience, and stay valid while their Secret holds them.
const LegacyIssuer = "kubernetes/serviceaccount"

// InvalidSinceLabel marks a legacy token Secret whose token is refused.
const InvalidSinceLabel = "kubernetes.io/legacy-token-invalid-since"

// legacyClaims are the private claims of a legacy token.
type legacyClaims struct {
	jwt.Claims
	ServiceAccountName string `json:"kubernetes.io/serviceaccount/service-account.name"`
	ServiceAccountUID  string `json:"kubernetes.io/serviceaccount/service-account.uid"`
	SecretName         string `json:"kubernetes.io/serviceaccount/secret.name"`
	Namespace          string `json:"kubernetes.io/serviceaccount/namespace"`
}

// LegacySigner signs the tokens of service account token Secrets, as the
// token controller fills them in.
type LegacySigner struct {
	signer jose.Signer
}

// NewLegacySigner signs with key, the service account key the API server
// verifies with.
func NewLegacySigner(key *ecdsa.PrivateKey) (*LegacySigner, error) {
	if key == nil {
		return nil, errors.New("legacy service account token signer: key is required")
	}
	signer, err := newSigner(key)
	if err != nil {
		return nil, err
	}
	return &LegacySigner{signer: signer}, nil
}

// Sign returns the token for sa kept in secret.
func (s *LegacySigner) Sign(sa *corev1.ServiceAccount, secret *corev1.Secret) (string, error) {
	return jwt.Signed(s.signer).Claims(legacyClaims{
		Claims:             jwt.Claims{Issuer: LegacyIssuer, Subject: apiserverserviceaccount.MakeUsername(sa.Namespace, sa.Name)},
		ServiceAccountName: sa.Name,
		ServiceAccountUID:  string(sa.UID),
		SecretName:         secret.Name,
		Namespace:          sa.Namespace,
	}).CompactSerialize()
}

// authenticateLegacy checks a legacy token: signed with the key, held by
// its Secret (which is not being deleted nor marked invalid), for a service
// account that still exists with the same uid. It is valid for the API
// server's audiences.
func (i *Issuer) authenticateLegacy(ctx context.Context, token string, parsed *jwt.JSONWebToken, get Getter) (*authenticator.Response, bool, error) {
	var cl legacyClaims
	if err := parsed.Claims(i.public, &cl); err != nil {
		return nil, false, errors.New("invalid bearer token")
	}
	if cl.Subject == "" || cl.Namespace == "" || cl.SecretName == "" || cl.ServiceAccountName == "" || cl.ServiceAccountUID == "" {
		return nil, false, errors.New("invalid bearer token: a legacy service account token claim is missing")
	}
	if ns, name, err := apiserverserviceaccount.SplitUsername(cl.Subject); err != nil || ns != cl.Namespace || name != cl.ServiceAccountName {
		return nil, false, errors.New("sub claim is invalid")
	}
	accepted := i.audiences
	if reqAud, ok := authenticator.AudiencesFrom(ctx); ok {
		accepted = reqAud
	}
	var matched []string
	for _, a := range i.audiences {
		for _, b := range accepted {
			if a == b {
				matched = append(matched, a)
			}
		}
	}
	if len(matched) == 0 {
		return nil, false, errors.New("token audiences are invalid")
	}
	secret, err := get.Secret(ctx, cl.Namespace, cl.SecretName)
	if err != nil || secret.DeletionTimestamp != nil {
		return nil, false, errors.New("token has been invalidated")
	}
	if subtle.ConstantTimeCompare(secret.Data[corev1.ServiceAccountTokenKey], []byte(token)) != 1 {
		return nil, false, errors.New("token does not match server's copy")
	}
	sa, err := get.ServiceAccount(ctx, cl.Namespace, cl.ServiceAccountName)
	if err := live(sa, err, types.UID(cl.ServiceAccountUID), "service account"); err != nil {
		return nil, false, err
	}
	if secret.Labels[InvalidSinceLabel] != "" {
		return nil, false, fmt.Errorf("the token in secret %s/%s for service account %s/%s has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '%s' label from the secret to temporarily allow use of this token",
			cl.Namespace, cl.SecretName, cl.Namespace, cl.ServiceAccountName, InvalidSinceLabel)
	}
	u := &user.DefaultInfo{
		Name:   apiserverserviceaccount.MakeUsername(cl.Namespace, cl.ServiceAccountName),
		UID:    cl.ServiceAccountUID,
		Groups: apiserverserviceaccount.MakeGroupNames(cl.Namespace),
	}
	return &authenticator.Response{User: u, Audiences: matched}, true, nil
}
