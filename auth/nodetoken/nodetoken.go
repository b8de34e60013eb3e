// Package nodetoken authenticates node tokens: bearer tokens with which a
// host of many simulated nodes speaks for each node as that node,
// system:node:<name> in system:nodes, so that the Node authorizer and
// NodeRestriction judge each simulated node as they judge a real one. A
// real node holds a client certificate of its own; a host of thousands of
// nodes would then need thousands of TLS connections, while tokens let all
// of its nodes share one.
//
// A node token is "node-token-<node>.<secret>". It is kept, as bootstrap
// tokens are, in a Secret of kube-system named node-token-<node>, of type
// kubelite.io/node-token, with the keys node-name and token-secret; only
// who may write Secrets in kube-system can make one. The token authenticates
// while its Secret exists, is not being deleted, and names the node the
// token does. Anything else is not a node token: the authenticator has no
// opinion.
package nodetoken

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

const (
	// SecretType is the type of a node token's Secret.
	SecretType corev1.SecretType = "kubelite.io/node-token"
	// SecretPrefix starts the name of a node token's Secret; the node's name
	// follows.
	SecretPrefix = "node-token-"
	// NodeNameKey and SecretKey are the Secret's keys: the node's name and
	// the token's secret.
	NodeNameKey = "node-name"
	SecretKey   = "token-secret"
)

// Authenticator checks node tokens against their Secrets.
type Authenticator struct {
	secrets corelisters.SecretNamespaceLister
}

var _ authenticator.Token = (*Authenticator)(nil)

// NewAuthenticator returns an authenticator reading kube-system's Secrets
// through secrets.
func NewAuthenticator(secrets corelisters.SecretNamespaceLister) *Authenticator {
	return &Authenticator{secrets: secrets}
}

// parse splits a node token into its Secret's name and its secret.
func parse(token string) (secretName, secret string, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if !strings.HasPrefix(token, SecretPrefix) || i < len(SecretPrefix)+1 || i == len(token)-1 {
		return "", "", false
	}
	return token[:i], token[i+1:], true
}

// AuthenticateToken implements authenticator.Token.
func (a *Authenticator) AuthenticateToken(_ context.Context, token string) (*authenticator.Response, bool, error) {
	name, secret, ok := parse(token)
	if !ok {
		return nil, false, nil
	}
	s, err := a.secrets.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	node := string(s.Data[NodeNameKey])
	if s.DeletionTimestamp != nil || s.Type != SecretType || node == "" || SecretPrefix+node != name ||
		subtle.ConstantTimeCompare(s.Data[SecretKey], []byte(secret)) != 1 {
		return nil, false, nil
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: "system:node:" + node, Groups: []string{user.NodesGroup}}}, true, nil
}

// Ensure returns the token of node, making its Secret with client if it has
// none yet.
func Ensure(ctx context.Context, client kubernetes.Interface, node string) (string, error) {
	secrets := client.CoreV1().Secrets(metav1.NamespaceSystem)
	name := SecretPrefix + node
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Type:       SecretType,
			Data:       map[string][]byte{NodeNameKey: []byte(node), SecretKey: []byte(rand.Text())},
		}
		s, err = secrets.Create(ctx, s, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			s, err = secrets.Get(ctx, name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return "", fmt.Errorf("node token of %s: %w", node, err)
	}
	if s.Type != SecretType || string(s.Data[NodeNameKey]) != node || len(s.Data[SecretKey]) == 0 {
		return "", fmt.Errorf("node token of %s: secret %s/%s is not a node token", node, s.Namespace, s.Name)
	}
	return name + "." + string(s.Data[SecretKey]), nil
}
