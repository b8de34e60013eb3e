package simulated

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// presentImages are the images every simulated node has from its start, as a
// freshly installed node has its pause, proxy and DNS images; with their
// sizes in bytes (plausible, not exact).
var presentImages = []struct {
	name string
	size int64
}{
	{"registry.k8s.io/pause:3.10", 320_368},
	{"registry.k8s.io/kube-proxy:v1.37.2", 30_908_745},
	{"registry.k8s.io/coredns/coredns:v1.12.1", 20_939_036},
}

// ErrImageNotFound: the image is one of Config.MissingImages. It is also
// ErrImagePull.
var ErrImageNotFound error = notFoundError{}

type notFoundError struct{}

func (notFoundError) Error() string        { return "not found" }
func (notFoundError) Is(target error) bool { return target == ErrImagePull }

// normalizeImage is the full reference of an image as a pod names it
// ("busybox" is "docker.io/library/busybox:latest"); a name that does not
// parse is kept as it is.
func normalizeImage(image string) string {
	named, err := reference.ParseDockerRef(image)
	if err != nil {
		return image
	}
	return named.String()
}

// missingSet is the set of the normalized names of images.
func missingSet(images []string) map[string]bool {
	if len(images) == 0 {
		return nil
	}
	set := make(map[string]bool, len(images))
	for _, i := range images {
		set[normalizeImage(i)] = true
	}
	return set
}

// missing returns the error a pull of image fails with when the image is
// one of the missing ones, with containerd's wording for an image no
// registry has, or nil.
func (r *Runtime) missing(image string) error {
	if len(r.missingImages) == 0 {
		return nil
	}
	ref := normalizeImage(image)
	if !r.missingImages[ref] {
		return nil
	}
	return fmt.Errorf("rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: %w",
		ref, ref, ref, ErrImageNotFound)
}

// imageSize is the size of a pulled image: derived from its name, between
// 1 and 200 MB, so that every node reports the same size for it.
func imageSize(image string) int64 {
	sum := sha256.Sum256([]byte(image))
	return 1_000_000 + int64(binary.BigEndian.Uint64(sum[:8])%199_000_000)
}

// ListImages returns the images present from the start and every image
// pulled since, the largest first, as upstream's kubelet orders them for
// status.images. Each has its digested name ("repo@sha256:...", the digest
// being the image's reference) and its tagged one.
func (r *Runtime) ListImages(context.Context) ([]runtime.Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.imageList != nil {
		return cloneImages(r.imageList), nil
	}
	sizes := map[string]int64{}
	for _, p := range presentImages {
		sizes[p.name] = p.size
	}
	for image := range r.images {
		if _, ok := sizes[image]; !ok {
			sizes[image] = imageSize(image)
		}
	}
	list := make([]runtime.Image, 0, len(sizes))
	for image, size := range sizes {
		ref := normalizeImage(image)
		repo, _, _ := strings.Cut(ref, "@")
		if named, err := reference.ParseNormalizedNamed(ref); err == nil {
			repo = named.Name()
		}
		names := []string{ref} // digested: its only name
		if !strings.Contains(ref, "@") {
			names = []string{repo + "@" + r.imageRefLocked(image), ref}
		}
		list = append(list, runtime.Image{Names: names, Size: size})
	}
	slices.SortFunc(list, func(a, b runtime.Image) int {
		if c := cmp.Compare(b.Size, a.Size); c != 0 {
			return c
		}
		return cmp.Compare(a.Names[len(a.Names)-1], b.Names[len(b.Names)-1])
	})
	r.imageList = list
	return cloneImages(list), nil
}

func cloneImages(list []runtime.Image) []runtime.Image {
	out := make([]runtime.Image, len(list))
	for i, img := range list {
		out[i] = runtime.Image{Names: slices.Clone(img.Names), Size: img.Size}
	}
	return out
}
