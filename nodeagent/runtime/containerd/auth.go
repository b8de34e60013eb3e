package containerd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// registryAuth is one registry's entry in a docker config.
type registryAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// credentials returns the user and password for host from the docker
// configs of secrets (kubernetes.io/dockerconfigjson or dockercfg), the
// first that names host; empty when none does, which pulls anonymously.
func credentials(secrets []*corev1.Secret, host string) (string, string) {
	for _, s := range secrets {
		var auths map[string]registryAuth
		switch s.Type {
		case corev1.SecretTypeDockerConfigJson:
			var cfg struct {
				Auths map[string]registryAuth `json:"auths"`
			}
			if json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) != nil {
				continue
			}
			auths = cfg.Auths
		case corev1.SecretTypeDockercfg:
			if json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths) != nil {
				continue
			}
		}
		for key, a := range auths {
			if !sameRegistry(key, host) {
				continue
			}
			if a.Username == "" && a.Auth != "" {
				if b, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					a.Username, a.Password, _ = strings.Cut(string(b), ":")
				}
			}
			return a.Username, a.Password
		}
	}
	return "", ""
}

// sameRegistry reports whether a docker config key ("https://host/v1/",
// "host") names host; Docker Hub goes by several names.
func sameRegistry(key, host string) bool {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	key, _, _ = strings.Cut(key, "/")
	hub := func(h string) bool { return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io" }
	return key == host || (hub(key) && hub(host))
}

// pullOpts authenticate a pull with the pod's imagePullSecrets (read
// through Config.Client; those missing are skipped, as upstream).
// Registries on localhost speak plain HTTP.
func (r *Runtime) pullOpts(ctx context.Context, pod *corev1.Pod) []containerd.RemoteOpt {
	var secrets []*corev1.Secret
	if r.cfg.Client != nil && pod != nil {
		for _, ref := range pod.Spec.ImagePullSecrets {
			s, err := r.cfg.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				klog.FromContext(ctx).V(2).Info("Image pull secret unavailable", "pod", klog.KObj(pod), "secret", ref.Name, "err", err)
				continue
			}
			secrets = append(secrets, s)
		}
	}
	authorizer := docker.NewDockerAuthorizer(docker.WithAuthCreds(func(host string) (string, string, error) {
		u, p := credentials(secrets, host)
		return u, p, nil
	}))
	return []containerd.RemoteOpt{containerd.WithResolver(docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithAuthorizer(authorizer), docker.WithPlainHTTP(docker.MatchLocalhost)),
	}))}
}
