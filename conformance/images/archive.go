package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of an image in index.json. containerd (`ctr images import`)
// names the image after io.containerd.image.name; the OCI convention puts
// the tag alone in org.opencontainers.image.ref.name (as `ctr images export`
// does).
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// layerOf turns a root filesystem into a gzip-compressed OCI layer. The tar
// stream is produced on demand (once for the diff ID, once to compress it);
// the compressed bytes are kept in memory.
func layerOf(r *rootfs) (v1.Layer, error) {
	opener := func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(r.writeTar(pw)) }()
		return pr, nil
	}
	return tarball.LayerFromOpener(opener, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// buildImage appends layers to base (nil: an empty image) and sets the
// config, for linux/amd64, with fixed creation times.
func buildImage(base v1.Image, layers []v1.Layer, cfg v1.Config, createdBy string) (v1.Image, error) {
	img := base
	if img == nil {
		img = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   l,
			History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: createdBy},
		})
		if err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = "amd64"
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
}

// ociIndex and its parts: the OCI image layout's index.json.
type ociIndex struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Manifests     []v1.Descriptor `json:"manifests"`
}

// dockerManifest is one entry of manifest.json, the file `docker load` (and
// containerd, for archives without index.json) reads.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// writeArchive writes img as an OCI image layout in one tar file, named
// after each of refs (full references such as
// registry.k8s.io/pause:3.10.2), with a docker manifest.json beside it, so
// that `ctr images import`, `docker load` and tools reading an OCI layout all
// find the name. The file is written next to dst and renamed into place.
func writeArchive(dst string, img v1.Image, refs []string) (v1.Hash, error) {
	manifest, err := img.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	configName, err := img.ConfigName()
	if err != nil {
		return v1.Hash{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}

	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return v1.Hash{}, err
	}
	defer os.Remove(tmp.Name())
	tw := tar.NewWriter(tmp)
	add := func(name string, size int64, r io.Reader) error {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		n, err := io.Copy(tw, r)
		if err == nil && n != size {
			err = fmt.Errorf("%s: wrote %d bytes, want %d", name, n, size)
		}
		return err
	}
	addBytes := func(name string, b []byte) error { return add(name, int64(len(b)), bytes.NewReader(b)) }
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
	}

	if err := addBytes("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return v1.Hash{}, err
	}
	if err := dir("blobs/"); err != nil {
		return v1.Hash{}, err
	}
	if err := dir("blobs/sha256/"); err != nil {
		return v1.Hash{}, err
	}
	written := map[v1.Hash]bool{}
	var layerNames []string
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return v1.Hash{}, err
		}
		layerNames = append(layerNames, blob(d))
		if written[d] {
			continue
		}
		written[d] = true
		size, err := l.Size()
		if err != nil {
			return v1.Hash{}, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		err = add(blob(d), size, rc)
		rc.Close()
		if err != nil {
			return v1.Hash{}, err
		}
	}
	if err := addBytes(blob(configName), config); err != nil {
		return v1.Hash{}, err
	}
	if err := addBytes(blob(digest), manifest); err != nil {
		return v1.Hash{}, err
	}

	index := ociIndex{SchemaVersion: 2, MediaType: string(types.OCIImageIndex)}
	for _, ref := range refs {
		index.Manifests = append(index.Manifests, v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Digest:    digest,
			Size:      int64(len(manifest)),
			Platform:  &v1.Platform{Architecture: "amd64", OS: "linux"},
			Annotations: map[string]string{
				annotationContainerdName: ref,
				annotationRefName:        tagOf(ref),
			},
		})
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := addBytes("index.json", indexJSON); err != nil {
		return v1.Hash{}, err
	}
	dockerJSON, err := json.Marshal([]dockerManifest{{Config: blob(configName), RepoTags: refs, Layers: layerNames}})
	if err != nil {
		return v1.Hash{}, err
	}
	if err := addBytes("manifest.json", dockerJSON); err != nil {
		return v1.Hash{}, err
	}
	if err := tw.Close(); err != nil {
		return v1.Hash{}, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return v1.Hash{}, err
	}
	if err := tmp.Close(); err != nil {
		return v1.Hash{}, err
	}
	return digest, os.Rename(tmp.Name(), dst)
}

// tagOf is the tag of a reference: "3.10.2" of "registry.k8s.io/pause:3.10.2".
func tagOf(ref string) string {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return "latest"
	}
	return ref[i+1:]
}
