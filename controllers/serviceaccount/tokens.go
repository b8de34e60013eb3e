package serviceaccount

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// TokenSigner signs the token a service account token Secret holds.
type TokenSigner interface {
	Sign(sa *corev1.ServiceAccount, secret *corev1.Secret) (string, error)
}

// TokensConfig holds what the token controller needs. Every field is
// required.
type TokensConfig struct {
	// Client updates and deletes Secrets.
	Client kubernetes.Interface
	// ServiceAccounts is a shared informer; Secrets a shared informer that
	// may hold only Secrets of type kubernetes.io/service-account-token.
	// The caller starts them; Run waits for their caches.
	ServiceAccounts coreinformers.ServiceAccountInformer
	Secrets         coreinformers.SecretInformer
	// Signer signs the tokens; RootCA is the bundle put beside them.
	Signer TokenSigner
	RootCA []byte
}

// Tokens is the token controller (upstream's serviceaccount-token): a
// Secret of type kubernetes.io/service-account-token naming a service
// account in its kubernetes.io/service-account.name annotation gets a
// token for it, the root CA and its namespace in its data, and the
// account's uid in an annotation. A token Secret whose account does not
// exist (by name, and by uid once annotated) is deleted, so deleting an
// account deletes its tokens. Tokens are made only for Secrets users
// create: none is made for accounts on their own.
type Tokens struct {
	client   kubernetes.Interface
	accounts corelisters.ServiceAccountLister
	secrets  corelisters.SecretLister
	signer   TokenSigner
	rootCA   []byte
	loop     *loop.Loop
}

// NewTokens returns the token controller, its handlers registered;
// nothing runs until Run.
func NewTokens(cfg TokensConfig) (*Tokens, error) {
	if cfg.Client == nil || cfg.ServiceAccounts == nil || cfg.Secrets == nil || cfg.Signer == nil {
		return nil, errors.New("token controller: Client, ServiceAccounts, Secrets and Signer are required")
	}
	c := &Tokens{
		client: cfg.Client, accounts: cfg.ServiceAccounts.Lister(), secrets: cfg.Secrets.Lister(),
		signer: cfg.Signer, rootCA: cfg.RootCA,
	}
	c.loop = loop.New("serviceaccount-token", c.sync)
	// Keys are Secrets' namespace/name; a service account's events queue
	// the token Secrets that name it.
	err := loop.Watch(c.loop, cfg.Secrets.Informer(), func(obj any) []string {
		if s, ok := obj.(*corev1.Secret); ok && s.Type == corev1.SecretTypeServiceAccountToken {
			return []string{s.Namespace + "/" + s.Name}
		}
		return nil
	}, false)
	if err != nil {
		return nil, err
	}
	err = loop.Watch(c.loop, cfg.ServiceAccounts.Informer(), func(obj any) []string {
		sa, ok := obj.(*corev1.ServiceAccount)
		if !ok {
			return nil
		}
		secrets, _ := c.secrets.Secrets(sa.Namespace).List(labels.Everything())
		var keys []string
		for _, s := range secrets {
			if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == sa.Name {
				keys = append(keys, s.Namespace+"/"+s.Name)
			}
		}
		return keys
	}, true)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Run fills and deletes token Secrets until ctx ends.
func (c *Tokens) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

func (c *Tokens) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	secret, err := c.secrets.Secrets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if secret.Type != corev1.SecretTypeServiceAccountToken || secret.DeletionTimestamp != nil {
		return nil
	}
	sa, err := c.account(ctx, ns, secret.Annotations[corev1.ServiceAccountNameKey], types.UID(secret.Annotations[corev1.ServiceAccountUIDKey]))
	if err != nil {
		return err
	}
	if sa == nil {
		err := c.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(secret.UID))})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete token secret %s of a missing service account: %w", key, err)
		}
		return nil
	}
	if !c.needsUpdate(secret) {
		return nil
	}
	secret = secret.DeepCopy()
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	if len(c.rootCA) > 0 {
		secret.Data[corev1.ServiceAccountRootCAKey] = c.rootCA
	}
	secret.Data[corev1.ServiceAccountNamespaceKey] = []byte(ns)
	if len(secret.Data[corev1.ServiceAccountTokenKey]) == 0 {
		token, err := c.signer.Sign(sa, secret)
		if err != nil {
			return loop.Terminal(fmt.Errorf("sign token for %s: %w", key, err))
		}
		secret.Data[corev1.ServiceAccountTokenKey] = []byte(token)
	}
	if secret.Annotations == nil {
		secret.Annotations = map[string]string{}
	}
	secret.Annotations[corev1.ServiceAccountNameKey] = sa.Name
	secret.Annotations[corev1.ServiceAccountUIDKey] = string(sa.UID)
	// The update carries the cached resourceVersion: if the Secret changed
	// since, it conflicts and the newer one comes back through the informer.
	_, err = c.client.CoreV1().Secrets(ns).Update(ctx, secret, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return fmt.Errorf("fill token secret %s: %w", key, err)
	}
	return nil
}

// needsUpdate reports whether a token Secret lacks its token, CA,
// namespace or account uid.
func (c *Tokens) needsUpdate(s *corev1.Secret) bool {
	return len(s.Data[corev1.ServiceAccountTokenKey]) == 0 ||
		len(c.rootCA) > 0 && !bytes.Equal(s.Data[corev1.ServiceAccountRootCAKey], c.rootCA) ||
		string(s.Data[corev1.ServiceAccountNamespaceKey]) != s.Namespace ||
		s.Annotations[corev1.ServiceAccountUIDKey] == ""
}

// account returns the service account name (with uid, when given), from
// the cache or else from the server, or nil if there is none.
func (c *Tokens) account(ctx context.Context, ns, name string, uid types.UID) (*corev1.ServiceAccount, error) {
	if name == "" {
		return nil, nil
	}
	sa, err := c.accounts.ServiceAccounts(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// A Secret made right after its account may reach us first.
		sa, err = c.client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case uid != "" && sa.UID != uid:
		return nil, nil
	}
	return sa, nil
}
