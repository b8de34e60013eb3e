package app

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// controllerCredentials returns the client config of the controller that
// runs as the kube-system service account of the given name, as upstream's
// --use-service-account-credentials.
type controllerCredentials func(serviceAccount string) (*rest.Config, error)

// controllerClients hands each controller its clients: with credentials,
// as its own service account, so that it holds only the permissions of its
// system:controller:<name> role; without, the controller manager's.
type controllerClients struct {
	base        *rest.Config
	shared      kubernetes.Interface
	meta        metadata.Interface
	credentials controllerCredentials
	// err is the first error met; the caller checks it once every
	// controller is built.
	err error
}

func (c *controllerClients) config(serviceAccount string) *rest.Config {
	if c.credentials == nil {
		return c.base
	}
	cfg, err := c.credentials(serviceAccount)
	if err != nil {
		c.fail(err)
		return c.base
	}
	cfg.UserAgent = c.base.UserAgent + "/" + serviceAccount
	return cfg
}

func (c *controllerClients) kube(serviceAccount string) kubernetes.Interface {
	if c.credentials == nil {
		return c.shared
	}
	client, err := kubernetes.NewForConfig(c.config(serviceAccount))
	if err != nil {
		c.fail(fmt.Errorf("client of %s: %w", serviceAccount, err))
		return c.shared
	}
	return client
}

func (c *controllerClients) metadata(serviceAccount string) metadata.Interface {
	if c.credentials == nil {
		return c.meta
	}
	client, err := metadata.NewForConfig(c.config(serviceAccount))
	if err != nil {
		c.fail(fmt.Errorf("metadata client of %s: %w", serviceAccount, err))
		return c.meta
	}
	return client
}

func (c *controllerClients) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}
