package bootstraptoken

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func TestAuthenticateToken(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	secret := func(mutate func(s *corev1.Secret)) *corev1.Secret {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-abcdef", Namespace: "kube-system"},
			Type:       "bootstrap.kubernetes.io/token",
			Data: map[string][]byte{
				"token-id":                       []byte("abcdef"),
				"token-secret":                   []byte("0123456789abcdef"),
				"usage-bootstrap-authentication": []byte("true"),
				"expiration":                     []byte(now.Add(time.Hour).Format(time.RFC3339)),
				"auth-extra-groups":              []byte("system:bootstrappers:kubelite:default-node-token"),
			},
		}
		if mutate != nil {
			mutate(s)
		}
		return s
	}
	const token = "abcdef.0123456789abcdef"
	for _, tc := range []struct {
		name   string
		secret *corev1.Secret
		token  string
		groups []string // nil: refused
	}{
		{name: "valid", secret: secret(nil), token: token,
			groups: []string{"system:bootstrappers", "system:bootstrappers:kubelite:default-node-token"}},
		{name: "no extra groups", secret: secret(func(s *corev1.Secret) { delete(s.Data, "auth-extra-groups") }), token: token,
			groups: []string{"system:bootstrappers"}},
		{name: "never expires", secret: secret(func(s *corev1.Secret) { delete(s.Data, "expiration") }), token: token,
			groups: []string{"system:bootstrappers", "system:bootstrappers:kubelite:default-node-token"}},
		{name: "wrong secret", secret: secret(nil), token: "abcdef.0123456789abcdee"},
		{name: "not a token", secret: secret(nil), token: "abcdef0123456789abcdef"},
		{name: "no such secret", secret: secret(nil), token: "zzzzzz.0123456789abcdef"},
		{name: "expired", secret: secret(func(s *corev1.Secret) { s.Data["expiration"] = []byte(now.Add(-time.Second).Format(time.RFC3339)) }), token: token},
		{name: "unparseable expiration", secret: secret(func(s *corev1.Secret) { s.Data["expiration"] = []byte("tomorrow") }), token: token},
		{name: "not for authentication", secret: secret(func(s *corev1.Secret) { delete(s.Data, "usage-bootstrap-authentication") }), token: token},
		{name: "wrong type", secret: secret(func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque }), token: token},
		{name: "id mismatch", secret: secret(func(s *corev1.Secret) { s.Data["token-id"] = []byte("zzzzzz") }), token: token},
		{name: "being deleted", secret: secret(func(s *corev1.Secret) { s.DeletionTimestamp = &metav1.Time{Time: now} }), token: token},
		{name: "bad extra group", secret: secret(func(s *corev1.Secret) { s.Data["auth-extra-groups"] = []byte("system:masters") }), token: token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
			if err := indexer.Add(tc.secret); err != nil {
				t.Fatal(err)
			}
			a := NewAuthenticator(corelisters.NewSecretLister(indexer).Secrets("kube-system"))
			a.now = func() time.Time { return now }
			resp, ok, err := a.AuthenticateToken(context.Background(), tc.token)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if tc.groups == nil {
				if ok {
					t.Fatalf("authenticated as %+v", resp.User)
				}
				return
			}
			if !ok || resp.User.GetName() != "system:bootstrap:abcdef" || !slices.Equal(resp.User.GetGroups(), tc.groups) {
				t.Fatalf("got %v %+v", ok, resp)
			}
		})
	}
}
