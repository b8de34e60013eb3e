package volumes

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// token is a service account token a projected volume holds, and when to
// ask for a new one.
type token struct {
	value   string
	refresh time.Time
}

// tokenKey names one token source of one pod: the source's audience,
// lifetime and path.
type tokenKey struct {
	uid      types.UID
	audience string
	seconds  int64
}

// serviceAccountToken returns a token for the pod's service account bound
// to the pod, from the TokenRequest API. It asks again, as upstream's kubelet,
// once 80 % of the token's lifetime has passed (or 24 hours).
func (m *Manager) serviceAccountToken(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) (string, error) {
	seconds := int64(3600)
	if src.ExpirationSeconds != nil {
		seconds = *src.ExpirationSeconds
	}
	key := tokenKey{uid: pod.UID, audience: src.Audience, seconds: seconds}
	now := m.cfg.Clock.Now()
	m.mu.Lock()
	t, ok := m.tokens[key]
	m.mu.Unlock()
	if ok && now.Before(t.refresh) {
		return t.value, nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &seconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	resp, err := m.cfg.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for service account %q: %w", sa, err)
	}
	exp := resp.Status.ExpirationTimestamp.Time
	lifetime := exp.Sub(now)
	if lifetime <= 0 {
		lifetime = time.Duration(seconds) * time.Second
	}
	t = token{value: resp.Status.Token, refresh: now.Add(min(lifetime*8/10, 24*time.Hour))}
	m.mu.Lock()
	m.tokens[key] = t
	m.mu.Unlock()
	return t.value, nil
}
