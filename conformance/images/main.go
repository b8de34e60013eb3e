// Command images assembles the container images that upstream's conformance
// tests run, under their upstream names, as OCI image-layout archives (one
// tar per image) ready for `ctr images import`. No registry and no container
// daemon are involved: each image is a layer built from files (binaries built
// from Go modules, files of the k8s.io/kubernetes module, files of Debian
// packages) and a config, written with go-containerregistry.
//
// conformance/images/build.sh prepares the inputs (Debian packages extracted
// with dpkg-deb, Go binaries) and runs it; see conformance/README.md.
//
//	images -debs DIR -bin DIR -k8s DIR -out DIR [-only a.tar,b.tar]
//
// Layers have fixed times, owners and order, so the same inputs give the
// same digests. Beside each archive, .<archive>.stamp records a hash of what
// the image is made of (layer diff IDs, config, names); an image whose stamp
// matches is not written again.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// format changes whenever the way archives are written changes, so that
// stamps written by an older assembler no longer match.
const format = "kubelite-images/1"

// Labels set on every image (except those that are another image under a
// second name).
const (
	labelRecipe   = "io.kubelite.image.recipe"
	labelPackages = "io.kubelite.image.debian-packages"
)

// built is an image's state during a run.
type built struct {
	spec     *spec
	cfg      v1.Config
	base     *built
	diffIDs  []string // all layers, base first
	own      *rootfs  // the image's own layer, or nil
	ownLayer v1.Layer // made on first use
	pkgs     map[string]bool
	img      v1.Image
}

func main() {
	debsDir := flag.String("debs", "", "folder of extracted Debian packages (one sub-folder per package), with versions.txt")
	binDir := flag.String("bin", "", "folder of the Go binaries (agnhost, pause, etcd, ...)")
	k8sDir := flag.String("k8s", "", "source folder of the k8s.io/kubernetes module")
	outDir := flag.String("out", "", "folder the archives are written to")
	only := flag.String("only", "", "comma-separated archive names to build (default: all)")
	flag.Parse()
	if *debsDir == "" || *binDir == "" || *k8sDir == "" || *outDir == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	log.SetFlags(0)
	log.SetPrefix("images: ")
	if err := run(*debsDir, *binDir, *k8sDir, *outDir, *only); err != nil {
		log.Fatal(err)
	}
}

func run(debsDir, binDir, k8sDir, outDir, only string) error {
	versions, err := readVersions(filepath.Join(debsDir, "versions.txt"))
	if err != nil {
		return err
	}
	d := &debs{dir: debsDir}
	byFile := map[string]*built{}
	in := &inputs{
		bin: func(name string) string { return filepath.Join(binDir, name) },
		k8s: func(rel string) string { return filepath.Join(k8sDir, filepath.FromSlash(rel)) },
		image: func(file string) (v1.Image, error) {
			b := byFile[file]
			if b == nil {
				return nil, fmt.Errorf("image %s is not built before", file)
			}
			return b.image()
		},
		debs: d,
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	wanted := map[string]bool{}
	for _, f := range strings.Split(only, ",") {
		if f != "" {
			wanted[f] = true
		}
	}
	var list []string
	for i := range specs {
		s := &specs[i]
		start := time.Now()
		b, err := prepare(s, in, byFile, versions)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		byFile[s.file] = b
		if len(wanted) > 0 && !wanted[s.file] {
			continue
		}
		digest, fresh, err := write(b, outDir)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		state := "up to date"
		if !fresh {
			state = fmt.Sprintf("written in %.1f s", time.Since(start).Seconds())
		}
		log.Printf("%s %s (%s) %s", s.file, strings.Join(s.refs, " "), digest, state)
		for _, ref := range s.refs {
			list = append(list, fmt.Sprintf("%s\t%s\t%s\n", s.file, ref, digest))
		}
	}
	if len(wanted) > 0 {
		return nil
	}
	// images.tsv: archive, reference, manifest digest; what an importer
	// loads.
	return os.WriteFile(filepath.Join(outDir, "images.tsv"), []byte(strings.Join(list, "")), 0o644)
}

// prepare assembles an image's own layer in memory (references to files,
// nothing copied) and computes its diff ID and config.
func prepare(s *spec, in *inputs, byFile map[string]*built, versions map[string]string) (*built, error) {
	b := &built{spec: s, pkgs: map[string]bool{}}
	var baseCfg v1.Config
	if s.base != "" {
		base := byFile[s.base]
		if base == nil {
			return nil, fmt.Errorf("base %s is not built before it", s.base)
		}
		baseCfg = *base.cfg.DeepCopy()
		b.base = base
		b.diffIDs = slices.Clone(base.diffIDs)
		maps.Copy(b.pkgs, base.pkgs)
	}
	if s.build != nil {
		r := newRootfs(in.debs)
		if err := s.build(in, r); err != nil {
			return nil, err
		}
		id, err := r.diffID()
		if err != nil {
			return nil, err
		}
		b.diffIDs = append(b.diffIDs, id)
		b.own = r
		for _, e := range r.entries {
			if pkg := in.debs.packageOf(e.src); pkg != "" {
				b.pkgs[pkg] = true
			}
		}
	}
	b.cfg = s.config(baseCfg)
	if s.build != nil {
		labels := map[string]string{}
		maps.Copy(labels, baseCfg.Labels)
		labels[labelRecipe] = s.recipe
		delete(labels, labelPackages)
		if len(b.pkgs) > 0 {
			var ps []string
			for p := range b.pkgs {
				ps = append(ps, p+"="+versions[p])
			}
			sort.Strings(ps)
			labels[labelPackages] = strings.Join(ps, " ")
		}
		b.cfg.Labels = labels
	}
	return b, nil
}

// stamp identifies an image's content: if it is unchanged, so is the archive.
func (b *built) stamp() (string, error) {
	cfg, err := json.Marshal(b.cfg)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%q\n%q\n%s\n", format, b.spec.refs, b.diffIDs, cfg)
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// layers are the image's layers, base first. A layer is compressed once,
// however many images share it.
func (b *built) layers() ([]v1.Layer, error) {
	var ls []v1.Layer
	if b.base != nil {
		var err error
		if ls, err = b.base.layers(); err != nil {
			return nil, err
		}
	}
	if b.own != nil {
		if b.ownLayer == nil {
			l, err := layerOf(b.own)
			if err != nil {
				return nil, err
			}
			b.ownLayer = l
		}
		ls = append(ls, b.ownLayer)
	}
	return ls, nil
}

// image builds the go-containerregistry image.
func (b *built) image() (v1.Image, error) {
	if b.img != nil {
		return b.img, nil
	}
	layers, err := b.layers()
	if err != nil {
		return nil, err
	}
	img, err := buildImage(nil, layers, b.cfg, "kubelite conformance/images")
	if err != nil {
		return nil, err
	}
	// Check that go-containerregistry saw the layers as we hashed them.
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	for i, id := range cf.RootFS.DiffIDs {
		if id.String() != b.diffIDs[i] {
			return nil, fmt.Errorf("layer %d: diff ID %s, computed %s", i, id, b.diffIDs[i])
		}
	}
	b.img = img
	return img, nil
}

// write writes the archive unless its stamp shows it up to date. It returns
// the manifest digest and whether the archive was already up to date.
func write(b *built, outDir string) (string, bool, error) {
	dst := filepath.Join(outDir, b.spec.file)
	stampFile := filepath.Join(outDir, "."+b.spec.file+".stamp")
	want, err := b.stamp()
	if err != nil {
		return "", false, err
	}
	if old, err := os.ReadFile(stampFile); err == nil {
		fields := strings.Fields(string(old))
		if len(fields) == 2 && fields[0] == want {
			if _, err := os.Stat(dst); err == nil {
				return fields[1], true, nil
			}
		}
	}
	img, err := b.image()
	if err != nil {
		return "", false, err
	}
	digest, err := writeArchive(dst, img, b.spec.refs)
	if err != nil {
		return "", false, err
	}
	return digest.String(), false, os.WriteFile(stampFile, []byte(want+" "+digest.String()+"\n"), 0o644)
}

// readVersions reads build.sh's versions.txt: "package version" lines.
func readVersions(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 {
			v[fields[0]] = fields[1]
		}
	}
	return v, sc.Err()
}
