package containerd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// neverPullError is upstream's ErrImageNeverPull.
type neverPullError struct{ image string }

func (e neverPullError) Error() string {
	return fmt.Sprintf("Container image %q is not present with pull policy of Never", e.image)
}

func (e neverPullError) Is(target error) bool { return target == runtime.ErrImageNeverPull }

// PullImage makes c's image present as its imagePullPolicy says (the
// default as upstream: Always for ":latest" or no tag, else IfNotPresent)
// and returns "<repository>@<digest>". Always pulls, but keeps a present
// image when no registry answers: images are usually imported here.
func (r *Runtime) PullImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (string, error) {
	ctx = r.nsctx(ctx)
	ref, err := normalizeImage(c.Image)
	if err != nil {
		return "", err
	}
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
		if tagged, ok := mustParse(ref).(reference.Tagged); !ok || tagged.Tag() == "latest" {
			if _, digested := mustParse(ref).(reference.Digested); !digested {
				policy = corev1.PullAlways
			}
		}
	}
	r.pullMu.Lock()
	defer r.pullMu.Unlock()
	img, err := r.client.GetImage(ctx, ref)
	present := err == nil
	if err != nil && !errdefs.IsNotFound(err) {
		return "", err
	}
	switch {
	case policy == corev1.PullNever && !present:
		return "", neverPullError{c.Image}
	case policy == corev1.PullAlways || !present:
		opts := append(r.pullOpts(ctx, pod), containerd.WithPullUnpack, containerd.WithPullSnapshotter(r.cfg.Snapshotter))
		pulled, err := r.client.Pull(ctx, ref, opts...)
		switch {
		case err == nil:
			return imageRef(pulled), nil
		case !present:
			return "", err
		}
		klog.FromContext(ctx).V(2).Info("Pull failed; using the image present", "image", c.Image, "err", err)
	}
	if err := r.unpack(ctx, img); err != nil {
		return "", err
	}
	return imageRef(img), nil
}

func (r *Runtime) unpack(ctx context.Context, img containerd.Image) error {
	ok, err := img.IsUnpacked(ctx, r.cfg.Snapshotter)
	if err != nil || ok {
		return err
	}
	if err := img.Unpack(ctx, r.cfg.Snapshotter); err != nil {
		return fmt.Errorf("unpack %s: %w", img.Name(), err)
	}
	return nil
}

// ImportArchive imports the images of an OCI or docker archive and unpacks
// them, returning their names.
func (r *Runtime) ImportArchive(ctx context.Context, path string) ([]string, error) {
	ctx = r.nsctx(ctx)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r.pullMu.Lock()
	defer r.pullMu.Unlock()
	imgs, err := r.client.Import(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	var names []string
	for _, i := range imgs {
		if err := r.unpack(ctx, containerd.NewImage(r.client, i)); err != nil {
			return nil, err
		}
		names = append(names, i.Name)
	}
	return names, nil
}

// importDir imports every *.tar in dir; a missing dir is fine.
func (r *Runtime) importDir(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		names, err := r.ImportArchive(ctx, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		klog.FromContext(ctx).Info("Imported images", "archive", f, "images", names)
	}
	return errors.Join(errs...)
}

// normalizeImage is the full reference of an image as a pod names it
// ("busybox" is "docker.io/library/busybox:latest").
func normalizeImage(image string) (string, error) {
	if strings.TrimSpace(image) == "" {
		return "", errors.New("no image")
	}
	named, err := reference.ParseDockerRef(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	return named.String(), nil
}

func mustParse(ref string) reference.Named {
	n, _ := reference.ParseNormalizedNamed(ref)
	return n
}

// imageRef is the image's ID as pod status reports it:
// "<repository>@<manifest digest>".
func imageRef(img containerd.Image) string {
	name := img.Name()
	if n, err := reference.ParseNormalizedNamed(name); err == nil {
		name = n.Name()
	}
	return name + "@" + img.Target().Digest.String()
}

// ListImages returns the images in the runtime's namespace, as upstream's
// kubelet reports them through CRI: one entry per image (by manifest
// digest), named by its digested references ("repo@sha256:...") then its
// tags, with the size of its content; the largest first.
func (r *Runtime) ListImages(ctx context.Context) ([]runtime.Image, error) {
	ctx = r.nsctx(ctx)
	imgs, err := r.client.ListImages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	type entry struct {
		digests, tags []string
		size          int64
	}
	byDigest := map[string]*entry{}
	var order []string
	for _, img := range imgs {
		digest := img.Target().Digest.String()
		e := byDigest[digest]
		if e == nil {
			size, err := img.Size(ctx)
			if err != nil {
				// Content not all present (a pull in progress, say):
				// upstream's CRI does not list such an image either.
				continue
			}
			e = &entry{size: size}
			byDigest[digest] = e
			order = append(order, digest)
		}
		name := img.Name()
		if strings.HasPrefix(name, "sha256:") {
			continue // an image ID kept as a name
		}
		named, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			continue
		}
		if repoDigest := named.Name() + "@" + digest; !slices.Contains(e.digests, repoDigest) {
			e.digests = append(e.digests, repoDigest)
		}
		if tagged, ok := named.(reference.Tagged); ok {
			e.tags = append(e.tags, named.Name()+":"+tagged.Tag())
		}
	}
	out := make([]runtime.Image, 0, len(order))
	for _, digest := range order {
		e := byDigest[digest]
		slices.Sort(e.digests)
		slices.Sort(e.tags)
		out = append(out, runtime.Image{Names: append(e.digests, e.tags...), Size: e.size})
	}
	slices.SortStableFunc(out, func(a, b runtime.Image) int { return cmp.Compare(b.Size, a.Size) })
	return out, nil
}
