// Package rootcacert implements the root CA certificate publisher: every
// active namespace has a ConfigMap named "kube-root-ca.crt" whose "ca.crt"
// is the bundle that verifies the API server's serving certificate.
//
// Pods read it (through the projected service account volume) to trust the
// API server at kubernetes.default.svc. The controller creates the ConfigMap
// when a namespace appears, creates it again when it is deleted, and puts
// back its data and description annotation when someone edits them; other
// labels and annotations are kept. Namespaces that are terminating are left
// alone.
package rootcacert

import (
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

const (
	// Name is the ConfigMap's name in every namespace.
	Name = "kube-root-ca.crt"
	// Key is the data key holding the PEM bundle.
	Key = "ca.crt"
	// DescriptionAnnotation explains the ConfigMap, in upstream's words.
	DescriptionAnnotation = "kubernetes.io/description"
	description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using " +
		"internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is " +
		"guaranteed across distributions of Kubernetes clusters."
)

// Config holds what the controller needs. Every field is required.
type Config struct {
	// Client creates and updates config maps.
	Client kubernetes.Interface
	// RootCA is the PEM bundle to publish.
	RootCA []byte
	// Namespaces is a shared namespace informer. ConfigMaps is a shared
	// informer that needs to hold only the config maps called Name (a field
	// selector on metadata.name keeps the cache small). The caller starts
	// them and Run waits for their caches.
	Namespaces coreinformers.NamespaceInformer
	ConfigMaps coreinformers.ConfigMapInformer
}

// Controller publishes the root CA bundle in every active namespace.
type Controller struct {
	client     kubernetes.Interface
	rootCA     string
	configMaps corelisters.ConfigMapLister
	loop       *loop.Loop
}

// New returns a controller whose event handlers are registered on the
// informers; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || len(cfg.RootCA) == 0 || cfg.Namespaces == nil || cfg.ConfigMaps == nil {
		return nil, errors.New("root CA publisher: Client, RootCA, Namespaces and ConfigMaps are required")
	}
	c := &Controller{
		client:     cfg.Client,
		rootCA:     string(cfg.RootCA),
		configMaps: cfg.ConfigMaps.Lister(),
	}
	var err error
	c.loop, err = loop.PerNamespace("root-ca-cert-publisher", cfg.Namespaces, cfg.ConfigMaps.Informer(), Name, c.sync)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs namespaces with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// sync makes active namespace ns's root CA config map exist with the right
// content.
func (c *Controller) sync(ctx context.Context, ns string) error {
	data := map[string]string{Key: c.rootCA}
	cm, err := c.configMaps.ConfigMaps(ns).Get(Name)
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: Name, Annotations: map[string]string{DescriptionAnnotation: description}},
			Data:       data,
		}
		_, err = c.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
		switch {
		case err == nil, apierrors.IsAlreadyExists(err):
			return nil // an existing one comes back through the informer
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			return nil
		}
		return fmt.Errorf("create config map %s/%s: %w", ns, Name, err)
	}
	if err != nil {
		return err
	}
	if maps.Equal(cm.Data, data) && len(cm.BinaryData) == 0 && cm.Annotations[DescriptionAnnotation] == description {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data, cm.BinaryData = data, nil
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DescriptionAnnotation] = description
	if _, err := c.client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return err // retried; the informer will have the newer state by then
		}
		return fmt.Errorf("update config map %s/%s: %w", ns, Name, err)
	}
	return nil
}
