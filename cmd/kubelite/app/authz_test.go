package app

import (
	"context"
	"slices"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	restclient "k8s.io/client-go/rest"
)

// TestComponentIdentities checks that each in-process component's config
// authenticates as its upstream user, and nothing else as anyone.
func TestComponentIdentities(t *testing.T) {
	c := defaultComponentIdentities()
	c.loopback = &restclient.Config{Host: "https://127.0.0.1:1", BearerToken: "loopback"}
	authn := c.tokenAuthenticator(nil)
	whoami := func(cfg *restclient.Config) user.Info {
		t.Helper()
		resp, ok, err := authn.AuthenticateToken(context.Background(), cfg.BearerToken)
		if err != nil || !ok {
			t.Fatalf("token of %v not authenticated: %v", cfg.BearerToken, err)
		}
		return resp.User
	}
	if u := whoami(c.scheduler()); u.GetName() != "system:kube-scheduler" || len(u.GetGroups()) != 0 {
		t.Errorf("scheduler is %s %v", u.GetName(), u.GetGroups())
	}
	if u := whoami(c.controllerManager()); u.GetName() != "system:kube-controller-manager" || len(u.GetGroups()) != 0 {
		t.Errorf("controller manager is %s %v", u.GetName(), u.GetGroups())
	}
	cfg, err := c.serviceAccountConfig("replicaset-controller")
	if err != nil {
		t.Fatal(err)
	}
	if u := whoami(cfg); u.GetName() != "system:serviceaccount:kube-system:replicaset-controller" ||
		!slices.Equal(u.GetGroups(), []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}) {
		t.Errorf("replicaset controller is %s %v", u.GetName(), u.GetGroups())
	}
	if cfg.Host != c.loopback.Host || cfg.BearerToken == c.loopback.BearerToken {
		t.Errorf("config %s with the loopback token, want the loopback host with a token of its own", cfg.Host)
	}
	if _, err := c.serviceAccountConfig("no-such-controller"); err == nil {
		t.Error("a controller without a role in the default policy got credentials")
	}
	if _, ok, _ := authn.AuthenticateToken(context.Background(), "loopback"); ok {
		t.Error("an unknown token authenticated")
	}
}
