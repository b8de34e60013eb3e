package simulated

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// TestMissingImages: an image of Config.MissingImages, by any of its
// spellings, fails to pull as an image no registry has; other images pull.
func TestMissingImages(t *testing.T) {
	r, err := New(Config{MissingImages: []string{"webserver:404", "registry.k8s.io/invalid-image:invalid-tag"}})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-p"}}
	for _, tc := range []struct {
		image string
		fails bool
	}{
		{"webserver:404", true},
		{"docker.io/library/webserver:404", true},
		{"docker.io/webserver:404", true},
		{"registry.k8s.io/invalid-image:invalid-tag", true},
		{"webserver:405", false},
		{"webserver", false},
		{"example.com/webserver:404", false},
	} {
		_, err := r.PullImage(t.Context(), pod, &corev1.Container{Name: "c", Image: tc.image})
		switch {
		case tc.fails && (!errors.Is(err, ErrImagePull) || !errors.Is(err, ErrImageNotFound)):
			t.Errorf("pull %s: %v, want ErrImageNotFound", tc.image, err)
		case tc.fails && !strings.Contains(err.Error(), "not found"):
			t.Errorf("pull %s: message %q does not say not found", tc.image, err)
		case !tc.fails && err != nil:
			t.Errorf("pull %s: %v", tc.image, err)
		}
	}
	images, err := r.ListImages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if slices.Contains(img.Names, "docker.io/library/webserver:404") {
			t.Errorf("missing image listed: %v", img.Names)
		}
	}
}

// TestListImages: the images present from the start, then those pulled,
// largest first, each with its digested and tagged names; the list is the
// same until an image is pulled, and every node reports an image the same.
func TestListImages(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	names := func(images []runtime.Image) []string {
		var out []string
		for _, img := range images {
			out = append(out, img.Names[len(img.Names)-1])
		}
		return out
	}
	images, err := r.ListImages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"registry.k8s.io/kube-proxy:v1.37.2", "registry.k8s.io/coredns/coredns:v1.12.1", "registry.k8s.io/pause:3.10"}
	if diff := cmp.Diff(want, names(images)); diff != "" {
		t.Errorf("images at start (-want +got):\n%s", diff)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-p"}}
	ref, err := r.PullImage(t.Context(), pod, &corev1.Container{Name: "c", Image: "nginx"})
	if err != nil {
		t.Fatal(err)
	}
	images, err = r.ListImages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(images, func(img runtime.Image) bool { return slices.Contains(img.Names, "docker.io/library/nginx:latest") })
	if i < 0 {
		t.Fatalf("nginx not listed after its pull: %v", names(images))
	}
	if diff := cmp.Diff([]string{"docker.io/library/nginx@" + ref, "docker.io/library/nginx:latest"}, images[i].Names); diff != "" {
		t.Errorf("nginx's names (-want +got):\n%s", diff)
	}
	if len(images) != 4 || !slices.IsSortedFunc(images, func(a, b runtime.Image) int { return int(b.Size - a.Size) }) {
		t.Errorf("images %v: want 4, largest first", images)
	}
	other, _ := New(Config{})
	if _, err := other.PullImage(t.Context(), pod, &corev1.Container{Name: "c", Image: "nginx"}); err != nil {
		t.Fatal(err)
	}
	otherImages, _ := other.ListImages(t.Context())
	if diff := cmp.Diff(images, otherImages); diff != "" {
		t.Errorf("another node's images differ (-this +other):\n%s", diff)
	}
	// A caller changing the list does not change the runtime's.
	images[0].Names[0] = "changed"
	again, _ := r.ListImages(t.Context())
	if again[0].Names[0] == "changed" {
		t.Error("ListImages returned the runtime's own names")
	}
}
