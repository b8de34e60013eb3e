package containerd

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestCredentials(t *testing.T) {
	secrets := []*corev1.Secret{
		{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(
			`{"auths":{"https://index.docker.io/v1/":{"username":"hub","password":"hubpw"},"reg.example:5000":{"auth":"dXNlcjpwYXNz"}}}`)}},
		{Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{corev1.DockerConfigKey: []byte(`{"old.example":{"username":"o","password":"opw"}}`)}},
		{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("y")}},
	}
	for _, tc := range []struct{ host, user, pass string }{
		{"registry-1.docker.io", "hub", "hubpw"},
		{"reg.example:5000", "user", "pass"},
		{"old.example", "o", "opw"},
		{"other.example", "", ""},
	} {
		if u, p := credentials(secrets, tc.host); u != tc.user || p != tc.pass {
			t.Errorf("credentials(%s) = %q, %q; want %q, %q", tc.host, u, p, tc.user, tc.pass)
		}
	}
}
