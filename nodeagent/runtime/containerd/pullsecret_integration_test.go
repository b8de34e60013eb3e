package containerd_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent/runtime/containerd"
)

// TestPullSecrets: a pull from a registry that asks for credentials sends
// those of the pod's imagePullSecrets, read through the API.
func TestPullSecrets(t *testing.T) {
	cfg := newConfig(t)
	s := testserver.StartWith(t, app.ServerConfig{DataDir: t.TempDir()})
	s.CreateNamespace(t, "ns")
	var mu sync.Mutex
	var seen []string
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	if _, err := s.Client.CoreV1().Secrets("ns").Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + host + `":{"username":"alice","password":"wonder"}}}`)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg.Client = s.Client
	r, err := containerd.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pod := testPod("pull-secret")
	pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	image := host + "/private/app:1"
	if _, err := r.PullImage(t.Context(), pod, &corev1.Container{Name: "c", Image: image}); err == nil {
		t.Fatal("pull from an empty registry succeeded")
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wonder"))
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, a := range seen {
		found = found || a == want
	}
	if !found {
		t.Errorf("registry saw Authorization %q, want %q", seen, want)
	}
}
