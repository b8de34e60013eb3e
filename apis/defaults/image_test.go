package defaults

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestPullPolicy(t *testing.T) {
	sha256 := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"library/nginx", corev1.PullAlways},
		{"docker.io/library/nginx:latest", corev1.PullAlways},
		{"localhost/app", corev1.PullAlways},
		{"localhost:5000/app", corev1.PullAlways},
		{"registry.example.com:5000/team/app", corev1.PullAlways},
		{"[::1]:5000/app", corev1.PullAlways},
		{"Registry.Example.com/app", corev1.PullAlways},
		{"nginx:latest@" + sha256, corev1.PullAlways},
		{"my-org/my_app__x.y--z", corev1.PullAlways},

		{"nginx:1.27", corev1.PullIfNotPresent},
		{"nginx:Latest", corev1.PullIfNotPresent},
		{"localhost:5000/app:v1", corev1.PullIfNotPresent},
		{"nginx@" + sha256, corev1.PullIfNotPresent},
		{"nginx@sha512:" + strings.Repeat("0", 128), corev1.PullIfNotPresent},
		{"localhost:5000", corev1.PullIfNotPresent}, // Docker Hub image "localhost", tag "5000"

		// Invalid references fall back to IfNotPresent.
		{"", corev1.PullIfNotPresent},
		{"NGINX", corev1.PullIfNotPresent},
		{"nginx:", corev1.PullIfNotPresent},
		{"nginx:-bad", corev1.PullIfNotPresent},
		{"nginx:" + strings.Repeat("a", 129), corev1.PullIfNotPresent},
		{"nginx@sha256:abc", corev1.PullIfNotPresent},
		{"nginx@sha256:" + strings.Repeat("AB", 32), corev1.PullIfNotPresent},
		{"nginx@md5:" + strings.Repeat("ab", 16), corev1.PullIfNotPresent},
		{strings.Repeat("ab", 32), corev1.PullIfNotPresent},
		{"a//b", corev1.PullIfNotPresent},
		{"app_", corev1.PullIfNotPresent},
		{"a___b", corev1.PullIfNotPresent},
		{"host:port/app", corev1.PullIfNotPresent},
		{"-host.com/app", corev1.PullIfNotPresent},
		{"example.com/" + strings.Repeat("a", 255), corev1.PullAlways},
		{"example.com/" + strings.Repeat("a", 256), corev1.PullIfNotPresent},
	}
	for _, tc := range cases {
		t.Run(tc.image, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, pullPolicy(tc.image)); diff != "" {
				t.Errorf("pullPolicy(%q) mismatch (-want +got):\n%s", tc.image, diff)
			}
		})
	}
}
