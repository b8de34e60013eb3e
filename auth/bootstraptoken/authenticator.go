// Package bootstraptoken authenticates bootstrap tokens: short-lived bearer
// tokens "<id>.<secret>" kept as Secrets of type bootstrap.kubernetes.io/token
// named bootstrap-token-<id> in kube-system, with which a new node asks for
// its own credentials (kubeadm's and kubelite agent's join).
//
// A token authenticates as system:bootstrap:<id> in system:bootstrappers and
// the Secret's auth-extra-groups, while its Secret exists, is not being
// deleted, is marked usage-bootstrap-authentication=true and has not
// expired. Anything else is not a bootstrap token this server knows: the
// authenticator has no opinion, and the request's bearer token is refused.
package bootstraptoken

import (
	"context"
	"crypto/subtle"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	corelisters "k8s.io/client-go/listers/core/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstrapsecret "k8s.io/cluster-bootstrap/util/secrets"
	bootstraptokens "k8s.io/cluster-bootstrap/util/tokens"
	"k8s.io/klog/v2"
)

// Authenticator checks bootstrap tokens against their Secrets.
type Authenticator struct {
	secrets corelisters.SecretNamespaceLister
	now     func() time.Time
}

// NewAuthenticator returns an authenticator reading the Secrets of
// kube-system through secrets.
func NewAuthenticator(secrets corelisters.SecretNamespaceLister) *Authenticator {
	return &Authenticator{secrets: secrets, now: time.Now}
}

var _ authenticator.Token = &Authenticator{}

// AuthenticateToken implements authenticator.Token.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	id, secret, err := bootstraptokens.ParseToken(token)
	if err != nil {
		return nil, false, nil // not a bootstrap token
	}
	s, err := a.secrets.Get(bootstrapapi.BootstrapTokenSecretPrefix + id)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	logger := klog.FromContext(ctx).WithValues("secret", klog.KObj(s))
	switch {
	case s.DeletionTimestamp != nil:
		logger.V(3).Info("Bootstrap token's secret is being deleted")
		return nil, false, nil
	case s.Type != corev1.SecretType(bootstrapapi.SecretTypeBootstrapToken):
		logger.V(3).Info("Bootstrap token's secret has the wrong type", "type", s.Type)
		return nil, false, nil
	case subtle.ConstantTimeCompare([]byte(bootstrapsecret.GetData(s, bootstrapapi.BootstrapTokenSecretKey)), []byte(secret)) != 1:
		logger.V(3).Info("Bootstrap token's secret does not match")
		return nil, false, nil
	case bootstrapsecret.GetData(s, bootstrapapi.BootstrapTokenIDKey) != id:
		logger.V(3).Info("Bootstrap token's secret names another token id")
		return nil, false, nil
	case bootstrapsecret.HasExpired(s, a.now()):
		return nil, false, nil
	case bootstrapsecret.GetData(s, bootstrapapi.BootstrapTokenUsageAuthentication) != "true":
		logger.V(3).Info("Bootstrap token is not for authentication")
		return nil, false, nil
	}
	groups, err := bootstrapsecret.GetGroups(s)
	if err != nil {
		logger.V(3).Info("Bootstrap token's extra groups are invalid", "err", err)
		return nil, false, nil
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: bootstrapapi.BootstrapUserPrefix + id, Groups: groups}}, true, nil
}
