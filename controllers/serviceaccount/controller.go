// Package serviceaccount implements the service account controller: every
// active namespace has a ServiceAccount named "default", created when the
// namespace appears and again whenever it is deleted.
//
// Pods that name no service account run as "default", and upstream's e2e
// framework waits for it in each test namespace, so it must appear within a
// moment of the namespace. The controller creates the account only; it never
// changes one that exists. Namespaces that are terminating are left alone.
package serviceaccount

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// DefaultName is the service account every namespace gets.
const DefaultName = "default"

// Config holds what the controller needs. Every field is required.
type Config struct {
	// Client creates service accounts.
	Client kubernetes.Interface
	// Namespaces and ServiceAccounts are shared informers; the caller starts
	// them and Run waits for their caches.
	Namespaces      coreinformers.NamespaceInformer
	ServiceAccounts coreinformers.ServiceAccountInformer
}

// Controller keeps a default service account in every active namespace.
type Controller struct {
	client   kubernetes.Interface
	accounts corelisters.ServiceAccountLister
	loop     *loop.Loop
}

// New returns a controller whose event handlers are registered on the
// informers; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Namespaces == nil || cfg.ServiceAccounts == nil {
		return nil, errors.New("service account controller: Client, Namespaces and ServiceAccounts are required")
	}
	c := &Controller{
		client:   cfg.Client,
		accounts: cfg.ServiceAccounts.Lister(),
	}
	var err error
	c.loop, err = loop.PerNamespace("serviceaccount-controller", cfg.Namespaces, cfg.ServiceAccounts.Informer(), DefaultName, c.sync)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs namespaces with the given number of workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error { return c.loop.Run(ctx, workers) }

// sync creates the default service account of active namespace ns if it is
// missing.
func (c *Controller) sync(ctx context.Context, ns string) error {
	_, err := c.accounts.ServiceAccounts(ns).Get(DefaultName)
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName}}
	_, err = c.client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
		return nil
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil // the namespace is going away; the next namespace event tells
	}
	return fmt.Errorf("create service account %s/%s: %w", ns, DefaultName, err)
}
