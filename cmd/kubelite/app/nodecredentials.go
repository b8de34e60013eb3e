package app

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	typedauthenticationv1 "k8s.io/client-go/kubernetes/typed/authentication/v1"
	typedcoordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/kubelite/kubelite/auth/nodetoken"
)

// nodeClient is a simulated node's client: the core and coordination
// groups, which is all a node agent uses, authenticated as the node by its
// node token. Every other group is the anonymous client's, so that a node
// never borrows its host's rights.
type nodeClient struct {
	kubernetes.Interface
	core         typedcorev1.CoreV1Interface
	coordination typedcoordinationv1.CoordinationV1Interface
}

func (c *nodeClient) CoreV1() typedcorev1.CoreV1Interface { return c.core }
func (c *nodeClient) CoordinationV1() typedcoordinationv1.CoordinationV1Interface {
	return c.coordination
}

// nodeClients returns a client for each named node that authenticates as
// system:node:<name> in system:nodes (package auth/nodetoken), so that the
// Node authorizer and NodeRestriction treat simulated nodes as real ones.
// host, as which the host of the nodes speaks, makes each node's token
// Secret where it has none yet; it needs to write Secrets in kube-system.
//
// The clients share one connection (as a real node's client certificate
// would not): a node costs its token, two typed clients and its own rate
// limit, upstream's kubelet's 50 requests per second.
func nodeClients(ctx context.Context, host kubernetes.Interface, rc *rest.Config, names []string) ([]kubernetes.Interface, error) {
	anonymous := rest.AnonymousClientConfig(rc)
	shared, err := rest.TransportFor(anonymous)
	if err != nil {
		return nil, err
	}
	fallback, err := kubernetes.NewForConfig(anonymous)
	if err != nil {
		return nil, err
	}
	clients := make([]kubernetes.Interface, len(names))
	reviews := make([]typedauthenticationv1.SelfSubjectReviewInterface, len(names))
	errs := make([]error, len(names))
	// Tokens are made, then checked until the server's cache of node tokens
	// holds them, a few nodes at a time.
	var wg sync.WaitGroup
	slots := make(chan struct{}, 32)
	for i, name := range names {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			token, err := nodetoken.Ensure(ctx, host, name)
			if err != nil {
				errs[i] = err
				return
			}
			httpClient := &http.Client{Transport: transport.NewBearerAuthRoundTripper(token, shared)}
			cfg := rest.CopyConfig(anonymous)
			cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(50, 100)
			core, err := typedcorev1.NewForConfigAndClient(cfg, httpClient)
			if err != nil {
				errs[i] = err
				return
			}
			coordination, err := typedcoordinationv1.NewForConfigAndClient(cfg, httpClient)
			if err != nil {
				errs[i] = err
				return
			}
			authn, err := typedauthenticationv1.NewForConfigAndClient(cfg, httpClient)
			if err != nil {
				errs[i] = err
				return
			}
			clients[i] = &nodeClient{Interface: fallback, core: core, coordination: coordination}
			reviews[i] = authn.SelfSubjectReviews()
		})
	}
	wg.Wait()
	for i, name := range names {
		if errs[i] != nil {
			return nil, errs[i]
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[i] = waitAuthenticated(ctx, reviews[i], "system:node:"+name)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return clients, nil
}

// waitAuthenticated waits until client is authenticated as user: a node
// token authenticates once the server's cache has its Secret, usually a few
// milliseconds after it was written. It looks again after 5 ms, then twice
// as long each time up to 100 ms, for a minute.
func waitAuthenticated(ctx context.Context, reviews typedauthenticationv1.SelfSubjectReviewInterface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last error
	// Past the cap, the delay stays there (its steps end, which Until ignores).
	delay := wait.Backoff{Duration: 5 * time.Millisecond, Factor: 2, Cap: 100 * time.Millisecond, Steps: math.MaxInt32}.DelayFunc()
	err := delay.Until(ctx, true, true, func(ctx context.Context) (bool, error) {
		var got *authenticationv1.SelfSubjectReview
		got, last = reviews.Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		return last == nil && got.Status.UserInfo.Username == name, nil
	})
	if err != nil {
		return fmt.Errorf("node token of %s not accepted: %w (last: %v)", name, err, last)
	}
	return nil
}
