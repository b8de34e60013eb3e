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
)

// authentication is the API server's request authenticator, as
// kube-apiserver's defaults assemble it: client certificates signed by the
// cluster CA, then bearer tokens (bootstrap tokens and service account
// tokens); every user so found is also in system:authenticated. A request
// with no credentials is system:anonymous in system:unauthenticated
// (--anonymous-auth=true); one whose credentials are refused is 401, never
// anonymous.
type authentication struct {
	authenticator.Request
	// secrets holds kube-system's bootstrap token Secrets.
	secrets informers.SharedInformerFactory
}

// newAuthentication builds the authenticator; saTokens authenticates
// service account tokens. loopback reaches this server, for the bootstrap
// tokens' Secrets.
func newAuthentication(caVerify x509request.VerifyOptionFunc, saTokens authenticator.Token, loopback *restclient.Config) (*authentication, error) {
	client, err := kubernetes.NewForConfig(loopback)
	if err != nil {
		return nil, err
	}
	// Only kube-system's bootstrap token Secrets, not every Secret.
	secrets := sharedInformers(client,
		informers.WithNamespace(metav1.NamespaceSystem),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", string(bootstrapapi.SecretTypeBootstrapToken)).String()
		}))
	bootstrapTokens := bootstraptoken.NewAuthenticator(secrets.Core().V1().Secrets().Lister().Secrets(metav1.NamespaceSystem))
	authn := group.NewAuthenticatedGroupAdder(union.New(
		x509request.NewDynamic(caVerify, x509request.CommonNameUserConversion),
		bearertoken.New(tokenunion.New(bootstrapTokens, saTokens)),
	))
	return &authentication{
		Request: union.NewFailOnError(authn, anonymous.NewAuthenticator(nil)),
		secrets: secrets,
	}, nil
}

// start fills the bootstrap tokens' cache.
func (a *authentication) start(ctx context.Context) {
	a.secrets.Core().V1().Secrets().Informer()
	a.secrets.Start(ctx.Done())
	a.secrets.WaitForCacheSync(ctx.Done())
}
