package app

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	authzunion "k8s.io/apiserver/pkg/authorization/union"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	restclient "k8s.io/client-go/rest"

	"github.com/kubelite/kubelite/auth/node"
	"github.com/kubelite/kubelite/auth/rbac"
	rbacbootstrap "github.com/kubelite/kubelite/auth/rbac/bootstrap"
)

// authorization is the API server's authorizer, as upstream's
// --authorization-mode=Node,RBAC: members of system:masters may do
// anything, nodes what the Node authorizer allows them, everyone what their
// RBAC roles allow. It also lists a user's rules (SelfSubjectRulesReview).
type authorization struct {
	authorizer.Authorizer
	authorizer.RuleResolver
	// RBAC resolves users' rules, for the escalation checks of the RBAC
	// storage.
	RBAC *rbac.Resolver
	node *node.Authorizer
}

// newAuthorization builds the authorizer on the server's informers; call
// it before the factory starts.
func newAuthorization(f informers.SharedInformerFactory) (*authorization, error) {
	resolver := rbac.NewResolver(f.Rbac().V1())
	rbacAuthz := rbac.New(resolver)
	nodeAuthz, err := node.New(f, rbacbootstrap.NodeRules())
	if err != nil {
		return nil, err
	}
	chain, err := authzunion.New(
		authzunion.NamedAuthorizer{AuthorizerName: "kubernetes.io/system-privileged-group", Authorizer: authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)},
		authzunion.NamedAuthorizer{AuthorizerName: "node", Authorizer: nodeAuthz},
		authzunion.NamedAuthorizer{AuthorizerName: "rbac", Authorizer: rbacAuthz},
	)
	if err != nil {
		return nil, err
	}
	return &authorization{
		Authorizer:   chain,
		RuleResolver: authzunion.NewRuleResolvers(nodeAuthz, rbacAuthz),
		RBAC:         resolver,
		node:         nodeAuthz,
	}, nil
}

// waitSynced is a post-start hook: the server is not ready until the
// authorizers' caches are filled and hold the default RBAC policy (the
// bootstrap hook writes it), so that components starting on readiness find
// their permissions.
// A server stopped meanwhile is no failure (a failed hook ends the process).
func (a *authorization) waitSynced(ctx genericapiserver.PostStartHookContext) error {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		if !a.RBAC.HasSynced() || !a.node.HasSynced() {
			return false, nil
		}
		_, err := a.RBAC.RoleRefRules(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:basic-user"}, "")
		return err == nil, nil
	})
	if err != nil && ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("authorization caches not filled: %w", err)
	}
	return nil
}

// componentIdentities are the users the in-process components run as, each
// reached by a random bearer token that only this process knows, as the
// generic server's own loopback token: the scheduler as
// system:kube-scheduler, the controller manager as
// system:kube-controller-manager and each controller as its kube-system
// service account (upstream's --use-service-account-credentials), so that
// each holds only what the default RBAC policy grants it.
type componentIdentities struct {
	loopback *restclient.Config
	tokens   map[string]*user.DefaultInfo
	byUser   map[string]string
}

func newComponentIdentities() *componentIdentities {
	return &componentIdentities{tokens: map[string]*user.DefaultInfo{}, byUser: map[string]string{}}
}

// tokenAuthenticator returns the authenticator of the component tokens.
func (c *componentIdentities) tokenAuthenticator(audiences authenticator.Audiences) authenticator.Token {
	return authenticator.WrapAudienceAgnosticToken(audiences, tokenfile.New(c.tokens))
}

// add makes a token for u.
func (c *componentIdentities) add(u *user.DefaultInfo) {
	token := string(uuid.NewUUID())
	u.UID = string(uuid.NewUUID())
	c.tokens[token] = u
	c.byUser[u.Name] = token
}

// config returns a loopback client config that authenticates as the named
// component user, which add made.
func (c *componentIdentities) config(name string) (*restclient.Config, error) {
	token, ok := c.byUser[name]
	if !ok {
		return nil, fmt.Errorf("no in-process identity %q", name)
	}
	cfg := restclient.AnonymousClientConfig(c.loopback)
	cfg.BearerToken = token
	return cfg, nil
}

// serviceAccountConfig returns the config of the kube-system service account
// name, for the controller of that name.
func (c *componentIdentities) serviceAccountConfig(name string) (*restclient.Config, error) {
	return c.config(serviceaccount.MakeUsername("kube-system", name))
}

// defaultComponentIdentities has tokens for the scheduler, the controller
// manager and every controller with a role in the default policy.
func defaultComponentIdentities() *componentIdentities {
	c := newComponentIdentities()
	c.add(&user.DefaultInfo{Name: user.KubeScheduler})
	c.add(&user.DefaultInfo{Name: user.KubeControllerManager})
	c.add(&user.DefaultInfo{Name: user.KubeProxy})
	var subjects []rbacv1.Subject
	for _, b := range rbacbootstrap.ClusterRoleBindings() {
		subjects = append(subjects, b.Subjects...)
	}
	for _, bindings := range rbacbootstrap.RoleBindings() {
		for _, b := range bindings {
			subjects = append(subjects, b.Subjects...)
		}
	}
	for _, s := range subjects {
		name := serviceaccount.MakeUsername(s.Namespace, s.Name)
		if _, done := c.byUser[name]; !done && s.Kind == "ServiceAccount" && s.Namespace == "kube-system" {
			c.add(&user.DefaultInfo{Name: name, Groups: serviceaccount.MakeGroupNames(s.Namespace)})
		}
	}
	return c
}

// scheduler is the client config of the in-process scheduler.
func (c *componentIdentities) scheduler() *restclient.Config {
	cfg, _ := c.config(user.KubeScheduler) // made by defaultComponentIdentities
	return cfg
}

// controllerManager is the client config of the in-process controller
// manager: its shared informers, leader election and events.
func (c *componentIdentities) controllerManager() *restclient.Config {
	cfg, _ := c.config(user.KubeControllerManager) // made by defaultComponentIdentities
	return cfg
}
