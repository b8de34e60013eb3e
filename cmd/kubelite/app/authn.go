package app

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/kubelite/kubelite/auth/bootstraptoken"
	"github.com/kubelite/kubelite/auth/clientcert"
	"github.com/kubelite/kubelite/auth/nodetoken"
)

// authentication is the API server's request authenticator, as
// kube-apiserver's defaults assemble it: client certificates signed by the
// cluster CA (each chain verified once while valid, see package
// clientcert), then bearer tokens (bootstrap tokens and service account
// tokens); every user so found is also in system:authenticated. A request
// with no credentials is system:anonymous in system:unauthenticated
// (--anonymous-auth=true); one whose credentials are refused is 401, never
// anonymous.
type authentication struct {
	authenticator.Request
	// secrets holds kube-system's bootstrap token Secrets, nodeTokens its
	// node token Secrets.
	secrets, nodeTokens informers.SharedInformerFactory
}

// secretsOfType returns an informer factory of kube-system's Secrets of one
// type only, not every Secret.
func secretsOfType(client kubernetes.Interface, t string) informers.SharedInformerFactory {
	return sharedInformers(client,
		informers.WithNamespace(metav1.NamespaceSystem),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", t).String()
		}))
}

// newAuthentication builds the authenticator; saTokens authenticates
// service account tokens. loopback reaches this server, for the bootstrap
// tokens' Secrets.
func newAuthentication(caVerify x509request.VerifyOptionFunc, saTokens authenticator.Token, loopback *restclient.Config) (*authentication, error) {
	client, err := kubernetes.NewForConfig(loopback)
	if err != nil {
		return nil, err
	}
	secrets := secretsOfType(client, string(bootstrapapi.SecretTypeBootstrapToken))
	bootstrapTokens := bootstraptoken.NewAuthenticator(secrets.Core().V1().Secrets().Lister().Secrets(metav1.NamespaceSystem))
	nodeTokens := secretsOfType(client, string(nodetoken.SecretType))
	nodeTokenAuthn := nodetoken.NewAuthenticator(nodeTokens.Core().V1().Secrets().Lister().Secrets(metav1.NamespaceSystem))
	authn := group.NewAuthenticatedGroupAdder(union.New(
		clientcert.New(x509request.NewDynamic(caVerify, x509request.CommonNameUserConversion), caVerify),
		bearertoken.New(tokenunion.New(bootstrapTokens, nodeTokenAuthn, saTokens)),
	))
	return &authentication{
		Request:    union.NewFailOnError(authn, anonymous.NewAuthenticator(nil)),
		secrets:    secrets,
		nodeTokens: nodeTokens,
	}, nil
}

// start fills the bootstrap and node tokens' caches.
func (a *authentication) start(ctx context.Context) {
	for _, f := range []informers.SharedInformerFactory{a.secrets, a.nodeTokens} {
		f.Core().V1().Secrets().Informer()
		f.Start(ctx.Done())
		f.WaitForCacheSync(ctx.Done())
	}
}
