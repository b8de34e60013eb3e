// Package bootstraptoken runs the two controllers of bootstrap tokens, as
// kube-controller-manager's bootstrapsigner and tokencleaner:
//
//   - The signer keeps the cluster-info ConfigMap in kube-public signed: for
//     every bootstrap token marked usage-bootstrap-signing=true that has not
//     expired, a key jws-kubeconfig-<token id> holds a detached JWS (HS256,
//     keyed by the token's secret) of the ConfigMap's kubeconfig. A joining
//     node that knows a token reads cluster-info anonymously and trusts the
//     CA in it only if the signature for its token verifies.
//   - The cleaner deletes bootstrap token Secrets once they expire.
package bootstraptoken

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"k8s.io/cluster-bootstrap/token/jws"
	bootstrapsecret "k8s.io/cluster-bootstrap/util/secrets"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// Config holds what the controllers need. Every field is required.
type Config struct {
	// Client writes the ConfigMap and deletes Secrets.
	Client kubernetes.Interface
	// Secrets informs on kube-system's Secrets (it may hold only those of
	// type bootstrap.kubernetes.io/token). ConfigMaps informs on
	// kube-public's ConfigMaps (it may hold only cluster-info). The caller
	// starts them; Run waits for their caches.
	Secrets    coreinformers.SecretInformer
	ConfigMaps coreinformers.ConfigMapInformer
}

func (c Config) validate(what string) error {
	if c.Client == nil || c.Secrets == nil || c.ConfigMaps == nil {
		return fmt.Errorf("%s: Client, Secrets and ConfigMaps are required", what)
	}
	return nil
}

// Signer signs cluster-info with the bootstrap tokens.
type Signer struct {
	client     kubernetes.Interface
	secrets    corelisters.SecretNamespaceLister
	configMaps corelisters.ConfigMapNamespaceLister
	loop       *loop.Loop
	now        func() time.Time
}

// NewSigner returns the signer, its handlers registered; nothing runs
// until Run.
func NewSigner(cfg Config) (*Signer, error) {
	if err := cfg.validate("bootstrap signer"); err != nil {
		return nil, err
	}
	s := &Signer{
		client:     cfg.Client,
		secrets:    cfg.Secrets.Lister().Secrets(metav1.NamespaceSystem),
		configMaps: cfg.ConfigMaps.Lister().ConfigMaps(metav1.NamespacePublic),
		now:        time.Now,
	}
	s.loop = loop.New("bootstrap-signer", s.sync)
	// One key: every change of a token or of cluster-info re-signs it.
	key := func(obj any) []string {
		switch o := obj.(type) {
		case *corev1.Secret:
			if o.Namespace == metav1.NamespaceSystem && o.Type == bootstrapapi.SecretTypeBootstrapToken {
				return []string{bootstrapapi.ConfigMapClusterInfo}
			}
		case *corev1.ConfigMap:
			if o.Namespace == metav1.NamespacePublic && o.Name == bootstrapapi.ConfigMapClusterInfo {
				return []string{bootstrapapi.ConfigMapClusterInfo}
			}
		}
		return nil
	}
	if err := loop.Watch(s.loop, cfg.Secrets.Informer(), key, true); err != nil {
		return nil, err
	}
	if err := loop.Watch(s.loop, cfg.ConfigMaps.Informer(), key, false); err != nil {
		return nil, err
	}
	return s, nil
}

// Run signs until ctx ends.
func (s *Signer) Run(ctx context.Context, workers int) error { return s.loop.Run(ctx, workers) }

// sync makes cluster-info's signatures those of the valid signing tokens.
func (s *Signer) sync(ctx context.Context, _ string) error {
	cm, err := s.configMaps.Get(bootstrapapi.ConfigMapClusterInfo)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	content, ok := cm.Data[bootstrapapi.KubeConfigKey]
	if !ok {
		return nil
	}
	want, err := s.signatures(content)
	if err != nil {
		return err
	}
	data := map[string]string{}
	for k, v := range cm.Data {
		if !strings.HasPrefix(k, bootstrapapi.JWSSignatureKeyPrefix) {
			data[k] = v
		}
	}
	maps.Copy(data, want)
	if maps.Equal(data, cm.Data) {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = data
	if _, err := s.client.CoreV1().ConfigMaps(metav1.NamespacePublic).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update %s/%s: %w", metav1.NamespacePublic, bootstrapapi.ConfigMapClusterInfo, err)
	}
	return nil
}

// signatures signs content with every token that may sign and has not
// expired, keyed by jws-kubeconfig-<id>.
func (s *Signer) signatures(content string) (map[string]string, error) {
	secrets, err := s.secrets.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, sec := range secrets {
		id, secret, ok := signingToken(sec, s.now())
		if !ok {
			continue
		}
		sig, err := jws.ComputeDetachedSignature(content, id, secret)
		if err != nil {
			return nil, loop.Terminal(err)
		}
		out[bootstrapapi.JWSSignatureKeyPrefix+id] = sig
	}
	return out, nil
}

// signingToken returns the id and secret of a bootstrap token Secret that
// may sign cluster-info now.
func signingToken(s *corev1.Secret, now time.Time) (id, secret string, ok bool) {
	if s.Type != bootstrapapi.SecretTypeBootstrapToken || s.DeletionTimestamp != nil {
		return "", "", false
	}
	id, ok = bootstrapsecret.ParseName(s.Name)
	if !ok || bootstrapsecret.GetData(s, bootstrapapi.BootstrapTokenIDKey) != id ||
		bootstrapsecret.GetData(s, bootstrapapi.BootstrapTokenUsageSigningKey) != "true" || bootstrapsecret.HasExpired(s, now) {
		return "", "", false
	}
	secret = bootstrapsecret.GetData(s, bootstrapapi.BootstrapTokenSecretKey)
	return id, secret, secret != ""
}

// Cleaner deletes expired bootstrap token Secrets.
type Cleaner struct {
	client  kubernetes.Interface
	secrets corelisters.SecretNamespaceLister
	loop    *loop.Loop
	now     func() time.Time
}

// NewCleaner returns the cleaner, its handlers registered; nothing runs
// until Run.
func NewCleaner(cfg Config) (*Cleaner, error) {
	if err := cfg.validate("token cleaner"); err != nil {
		return nil, err
	}
	c := &Cleaner{client: cfg.Client, secrets: cfg.Secrets.Lister().Secrets(metav1.NamespaceSystem), now: time.Now}
	c.loop = loop.New("token-cleaner", c.sync)
	err := loop.Watch(c.loop, cfg.Secrets.Informer(), func(obj any) []string {
		if s, ok := obj.(*corev1.Secret); ok && s.Namespace == metav1.NamespaceSystem && s.Type == bootstrapapi.SecretTypeBootstrapToken {
			return []string{s.Name}
		}
		return nil
	}, false)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Run cleans until ctx ends.
func (c *Cleaner) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// sync deletes the Secret name once it has expired, and otherwise comes
// back when it will have.
func (c *Cleaner) sync(ctx context.Context, name string) error {
	s, err := c.secrets.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.DeletionTimestamp != nil {
		return nil
	}
	left, expired := bootstrapsecret.GetExpiration(s, c.now())
	if !expired {
		if left > 0 {
			c.loop.AddAfter(name, left)
		}
		return nil
	}
	klog.FromContext(ctx).V(2).Info("Deleting expired bootstrap token", "secret", klog.KObj(s))
	err = c.client.CoreV1().Secrets(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(s.UID))})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete expired bootstrap token %s: %w", name, err)
	}
	return nil
}
