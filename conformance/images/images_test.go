package main

// Tests of the archives `make images` wrote (in $KUBELITE_IMAGES, default
// <repo>/.cache/images; skipped when there are none). They read each archive
// back with the standard library only, independently of the writer: blob
// digests, names, config, files, and that every ELF program in an image is
// static or finds its loader and libraries inside the image. As root (and
// without -short) they also unpack images and run programs in them with
// chroot.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// want is what a test expects of one archive.
type want struct {
	file       string
	ref        string
	entrypoint []string
	cmd        []string
	user       string
	layers     int
	// files must exist (symbolic links followed); executables must also be
	// executable regular files.
	files       []string
	executables []string
	static      []string // executables that must be statically linked
	// run, as root: shell commands run in the unpacked image with chroot,
	// with the output each must contain.
	run map[string]string
}

var agnhostTools = []string{"/bin/sh", "/bin/busybox", "/usr/bin/curl", "/usr/bin/dig", "/bin/nc", "/bin/cat",
	"/bin/mv", "/bin/grep", "/usr/bin/seq", "/bin/ip", "/bin/ss", "/bin/bash", "/usr/bin/nslookup"}

var agnhostRun = map[string]string{
	"/agnhost --help":           "test-webserver",
	"curl --version":            "libcurl",
	"dig -v 2>&1":               "DiG 9.18",
	"command -v nc; nc -h 2>&1": "/bin/nc\nOpenBSD netcat",
	"ip -V":                     "iproute2",
	"ss -V":                     "iproute2",
	"seq 1 3 | tr -d '\\n'":     "123",
	"echo x >/tmp/a && mv /tmp/a /tmp/b && cat /tmp/b | grep -c x": "1",
	"id -G user-defined-in-image":                                  "1000 50000",
	"bash -c 'echo $BASH_VERSION'":                                 "5.2",
}

var wants = []want{
	{
		file: "agnhost-2.66.1.tar", ref: "registry.k8s.io/e2e-test-images/agnhost:2.66.1",
		entrypoint: []string{"/agnhost"}, cmd: []string{"pause"}, layers: 1,
		files:       []string{"/localhost.crt", "/localhost.key", "/uploads", "/agnhost-2", "/etc/passwd", "/etc/group", "/var/registry/pause/manifests/testing"},
		executables: append([]string{"/agnhost"}, agnhostTools...),
		static:      []string{"/agnhost"},
		run:         agnhostRun,
	},
	{
		file: "agnhost-2.55.tar", ref: "registry.k8s.io/e2e-test-images/agnhost:2.55",
		entrypoint: []string{"/agnhost"}, cmd: []string{"pause"}, layers: 1,
		files:       []string{"/localhost.crt", "/localhost.key", "/uploads"},
		executables: append([]string{"/agnhost"}, agnhostTools...),
		static:      []string{"/agnhost"},
	},
	{
		file: "busybox-1.37.0-2.tar", ref: "registry.k8s.io/e2e-test-images/busybox:1.37.0-2",
		cmd: []string{"sh"}, layers: 1,
		files: []string{"/tmp", "/etc/passwd"},
		executables: []string{"/bin/busybox", "/bin/sh", "/bin/ls", "/bin/cat", "/bin/sleep", "/bin/wget",
			"/bin/nslookup", "/bin/hostname", "/bin/id", "/bin/top", "/bin/nc"},
		static: []string{"/bin/busybox"},
		run:    map[string]string{"ls / && id -u && wget --help 2>&1": "bin\n"},
	},
	{
		file: "pause-3.10.2.tar", ref: "registry.k8s.io/pause:3.10.2",
		entrypoint: []string{"/pause"}, user: "65535:65535", layers: 1,
		executables: []string{"/pause"}, static: []string{"/pause"},
	},
	{
		file: "nginx-1.27.0-2.tar", ref: "registry.k8s.io/e2e-test-images/nginx:1.27.0-2",
		cmd: []string{"nginx", "-g", "daemon off;"}, layers: 1,
		files:       []string{"/etc/nginx/nginx.conf", "/etc/nginx/mime.types", "/usr/share/nginx/html/index.html", "/var/log/nginx"},
		executables: []string{"/usr/sbin/nginx", "/bin/sh", "/bin/sleep"},
		run:         map[string]string{"nginx -t 2>&1": "syntax is ok"},
	},
	{
		file: "glibc-dns-testing-2.1.1.tar", ref: "registry.k8s.io/e2e-test-images/glibc-dns-testing:2.1.1",
		cmd: []string{"bash"}, layers: 1,
		files:       []string{"/etc/nsswitch.conf", "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"},
		executables: []string{"/usr/bin/dig", "/usr/bin/getent", "/usr/bin/seq", "/usr/bin/test", "/bin/sh", "/bin/bash", "/usr/bin/awk"},
		run: map[string]string{
			"getent passwd root; getent hosts localhost": "root:x:0:0:root:/root:/bin/bash\n127.0.0.1       localhost",
			"dig -v 2>&1": "DiG 9.18",
			"for i in $(seq 1 3); do test -n x && printf $i; done": "123",
		},
	},
	{
		file: "nautilus-1.8.tar", ref: "registry.k8s.io/e2e-test-images/nautilus:1.8",
		entrypoint: []string{"/agnhost"}, cmd: []string{"test-webserver"}, layers: 2,
		files: []string{"/nautilus.jpg", "/data.json"}, executables: []string{"/agnhost", "/bin/sh"},
	},
	{
		file: "kitten-1.8.tar", ref: "registry.k8s.io/e2e-test-images/kitten:1.8",
		entrypoint: []string{"/agnhost"}, cmd: []string{"test-webserver"}, layers: 2,
		files: []string{"/kitten.jpg", "/data.json"}, executables: []string{"/agnhost", "/bin/sh"},
	},
	{
		file: "nonewprivs-1.4.tar", ref: "registry.k8s.io/e2e-test-images/nonewprivs:1.4",
		cmd: []string{"nnp"}, layers: 1,
		executables: []string{"/usr/local/bin/nnp", "/bin/sh"}, static: []string{"/usr/local/bin/nnp"},
	},
	{
		file: "sample-apiserver-1.29.2.tar", ref: "registry.k8s.io/e2e-test-images/sample-apiserver:1.29.2",
		entrypoint: []string{"/sample-apiserver"}, layers: 1,
		executables: []string{"/sample-apiserver", "/bin/sh"}, static: []string{"/sample-apiserver"},
		run: map[string]string{"/sample-apiserver --help 2>&1": "--etcd-servers"},
	},
	{
		file: "etcd-3.7.0-0.tar", ref: "registry.k8s.io/etcd:3.7.0-0",
		cmd: []string{"/usr/local/bin/etcd"}, layers: 1,
		executables: []string{"/usr/local/bin/etcd", "/usr/local/bin/etcdctl", "/usr/local/bin/etcdutl"},
		static:      []string{"/usr/local/bin/etcd", "/usr/local/bin/etcdctl", "/usr/local/bin/etcdutl"},
	},
}

func imagesDir(t *testing.T) string {
	dir := os.Getenv("KUBELITE_IMAGES")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "images")
	}
	if _, err := os.Stat(filepath.Join(dir, "images.tsv")); err != nil {
		t.Skipf("no images in %s (run `make images` first): %v", dir, err)
	}
	return dir
}

// fsEntry is a file of an image's root filesystem, all layers applied.
type fsEntry struct {
	typ  byte
	mode int64
	link string
	data []byte
}

type image struct {
	index struct {
		Manifests []struct {
			MediaType   string            `json:"mediaType"`
			Digest      string            `json:"digest"`
			Size        int64             `json:"size"`
			Annotations map[string]string `json:"annotations"`
			Platform    struct{ Architecture, OS string }
		} `json:"manifests"`
	}
	docker []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	manifest struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"config"`
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
			Size      int64  `json:"size"`
		} `json:"layers"`
	}
	config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			Entrypoint []string
			Cmd        []string
			User       string
			Env        []string
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	fs map[string]*fsEntry
}

func sha(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// readImage reads an archive and checks its internal consistency: every blob
// has the digest it is named by, the manifest and config are the ones the
// index points to, each layer decompresses to its diff ID.
func readImage(t *testing.T, file string) *image {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
		if hex, ok := strings.CutPrefix(h.Name, "blobs/sha256/"); ok && sha(b) != "sha256:"+hex {
			t.Errorf("%s: blob has digest %s", h.Name, sha(b))
		}
	}
	blob := func(digest string) []byte {
		b, ok := files["blobs/"+strings.Replace(digest, ":", "/", 1)]
		if !ok {
			t.Fatalf("blob %s missing", digest)
		}
		return b
	}
	img := &image{fs: map[string]*fsEntry{"/": {typ: tar.TypeDir, mode: 0o755}}}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout: %q", files["oci-layout"])
	}
	mustJSON(t, files["index.json"], &img.index)
	mustJSON(t, files["manifest.json"], &img.docker)
	if len(img.index.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1", len(img.index.Manifests))
	}
	m := img.index.Manifests[0]
	raw := blob(m.Digest)
	if int64(len(raw)) != m.Size {
		t.Errorf("manifest size %d, index says %d", len(raw), m.Size)
	}
	mustJSON(t, raw, &img.manifest)
	mustJSON(t, blob(img.manifest.Config.Digest), &img.config)
	if len(img.manifest.Layers) != len(img.config.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d diff IDs", len(img.manifest.Layers), len(img.config.RootFS.DiffIDs))
	}
	for i, l := range img.manifest.Layers {
		compressed := blob(l.Digest)
		if int64(len(compressed)) != l.Size {
			t.Errorf("layer %d: size %d, manifest says %d", i, len(compressed), l.Size)
		}
		zr, err := gzip.NewReader(bytes.NewReader(compressed))
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		layer, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		if sha(layer) != img.config.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: diff ID %s, config says %s", i, sha(layer), img.config.RootFS.DiffIDs[i])
		}
		applyLayer(t, img.fs, layer)
	}
	return img
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v in %q", err, b)
	}
}

func applyLayer(t *testing.T, fs map[string]*fsEntry, layer []byte) {
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := path.Clean("/" + h.Name)
		if strings.HasPrefix(path.Base(p), ".wh.") {
			t.Errorf("unexpected whiteout %s", p)
			continue
		}
		if _, ok := fs[path.Dir(p)]; !ok {
			t.Errorf("%s comes before its folder", p)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: owner %d:%d, time %v; want 0:0 at the epoch", p, h.Uid, h.Gid, h.ModTime)
		}
		e := &fsEntry{typ: h.Typeflag, mode: h.Mode, link: h.Linkname}
		if h.Typeflag == tar.TypeReg {
			if e.data, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		fs[p] = e
	}
}

// resolve follows symbolic links (in every component) within the image and
// returns the final path, or "" if it does not exist.
func (img *image) resolve(p string) string {
	for hops := 0; hops < 40; hops++ {
		cur := "/"
		parts := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
		restart := false
		for i, part := range parts {
			if part == "" {
				continue
			}
			next := path.Join(cur, part)
			e, ok := img.fs[next]
			if !ok {
				return ""
			}
			if e.typ == tar.TypeSymlink {
				target := e.link
				if !path.IsAbs(target) {
					target = path.Join(cur, target)
				}
				p = path.Join(append([]string{target}, parts[i+1:]...)...)
				restart = true
				break
			}
			cur = next
		}
		if !restart {
			return cur
		}
	}
	return ""
}

// elfProblems checks the ELF file at p: its interpreter and every library it
// needs must be in the image, searched as glibc's loader does without
// ld.so.cache (RUNPATH, then the system folders).
func (img *image) elfProblems(p string, data []byte) (static bool, problems []string) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return false, []string{fmt.Sprintf("%s: %v", p, err)}
	}
	static = true
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		static = false
		b, _ := io.ReadAll(prog.Open())
		interp := strings.TrimRight(string(b), "\x00")
		if img.resolve(interp) == "" {
			problems = append(problems, fmt.Sprintf("%s: interpreter %s missing", p, interp))
		}
	}
	needed, _ := f.DynString(elf.DT_NEEDED)
	if len(needed) > 0 {
		static = false
	}
	var search []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		rps, _ := f.DynString(tag)
		for _, rp := range rps {
			for _, d := range strings.Split(rp, ":") {
				search = append(search, strings.ReplaceAll(d, "$ORIGIN", path.Dir(p)))
			}
		}
	}
	search = append(search, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	for _, lib := range needed {
		found := false
		for _, d := range search {
			if r := img.resolve(path.Join(d, lib)); r != "" && img.fs[r].typ == tar.TypeReg {
				found = true
				break
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s: needs %s, not in the image", p, lib))
		}
	}
	return static, problems
}

func TestArchives(t *testing.T) {
	dir := imagesDir(t)
	tsv, err := os.ReadFile(filepath.Join(dir, "images.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wants {
		t.Run(w.file, func(t *testing.T) {
			if !strings.Contains(string(tsv), w.file+"\t"+w.ref+"\t") {
				t.Errorf("images.tsv does not list %s as %s", w.file, w.ref)
			}
			img := readImage(t, filepath.Join(dir, w.file))
			checkImage(t, w, img)
		})
	}
}

func checkImage(t *testing.T, w want, img *image) {
	m := img.index.Manifests[0]
	tag := w.ref[strings.LastIndex(w.ref, ":")+1:]
	if m.Annotations["io.containerd.image.name"] != w.ref || m.Annotations["org.opencontainers.image.ref.name"] != tag {
		t.Errorf("index annotations %v, want name %s, ref.name %s", m.Annotations, w.ref, tag)
	}
	if m.Platform.Architecture != "amd64" || m.Platform.OS != "linux" || img.config.Architecture != "amd64" || img.config.OS != "linux" {
		t.Errorf("platform %+v / %s/%s, want linux/amd64", m.Platform, img.config.OS, img.config.Architecture)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" ||
		img.manifest.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("media types %s, %s", m.MediaType, img.manifest.Config.MediaType)
	}
	for _, l := range img.manifest.Layers {
		if l.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Errorf("layer media type %s", l.MediaType)
		}
	}
	if len(img.docker) != 1 || !slices.Equal(img.docker[0].RepoTags, []string{w.ref}) ||
		img.docker[0].Config != "blobs/"+strings.Replace(img.manifest.Config.Digest, ":", "/", 1) {
		t.Errorf("manifest.json %+v", img.docker)
	}
	if len(img.manifest.Layers) != w.layers {
		t.Errorf("%d layers, want %d", len(img.manifest.Layers), w.layers)
	}
	c := img.config.Config
	if !slices.Equal(c.Entrypoint, w.entrypoint) || !slices.Equal(c.Cmd, w.cmd) || c.User != w.user {
		t.Errorf("entrypoint %q cmd %q user %q; want %q %q %q", c.Entrypoint, c.Cmd, c.User, w.entrypoint, w.cmd, w.user)
	}
	for _, f := range w.files {
		if img.resolve(f) == "" {
			t.Errorf("%s missing", f)
		}
	}
	for _, f := range w.executables {
		r := img.resolve(f)
		if r == "" {
			t.Errorf("%s missing", f)
			continue
		}
		if e := img.fs[r]; e.typ != tar.TypeReg || e.mode&0o111 == 0 {
			t.Errorf("%s (%s) is not an executable file", f, r)
		}
	}
	// Every ELF file of the image: static, or its loader and libraries are
	// in the image.
	elfs := 0
	statics := map[string]bool{}
	for p, e := range img.fs {
		if e.typ != tar.TypeReg || !bytes.HasPrefix(e.data, []byte(elf.ELFMAG)) {
			continue
		}
		elfs++
		static, problems := img.elfProblems(p, e.data)
		statics[p] = static
		for _, pr := range problems {
			t.Error(pr)
		}
	}
	for _, f := range w.static {
		if r := img.resolve(f); r != "" && !statics[r] {
			t.Errorf("%s is not statically linked", f)
		}
	}
	t.Logf("%s: %d files, %d ELF files, all with their libraries", w.ref, len(img.fs), elfs)
	if w.file == "nonewprivs-1.4.tar" {
		if e := img.fs["/usr/local/bin/nnp"]; e == nil || e.mode&0o4000 == 0 {
			t.Errorf("/usr/local/bin/nnp is not setuid")
		}
	}
	if w.file == "busybox-1.37.0-2.tar" {
		links := 0
		for p, e := range img.fs {
			if path.Dir(p) == "/bin" && e.typ == tar.TypeSymlink && e.link == "/bin/busybox" {
				links++
			}
		}
		if links < 200 {
			t.Errorf("only %d applet links in /bin", links)
		}
	}
}

// TestRunInChroot unpacks images and runs programs in them with chroot: the
// real check that shared libraries are complete and PATH finds the tools.
func TestRunInChroot(t *testing.T) {
	dir := imagesDir(t)
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	for _, w := range wants {
		if len(w.run) == 0 {
			continue
		}
		t.Run(w.file, func(t *testing.T) {
			img := readImage(t, filepath.Join(dir, w.file))
			root := t.TempDir()
			unpack(t, img, root)
			// What the kubelet mounts into every container.
			for f, content := range map[string]string{"hosts": "127.0.0.1\tlocalhost\n", "resolv.conf": "nameserver 127.0.0.1\n"} {
				if err := os.WriteFile(filepath.Join(root, "etc", f), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := img.config.Config.Env
			for cmd, wantOut := range w.run {
				out, err := chroot(root, env, cmd)
				if err != nil || !strings.Contains(out, wantOut) {
					t.Errorf("%s: %v, output %q, want it to contain %q", cmd, err, out, wantOut)
				}
			}
		})
	}
}

// TestPauseInChroot runs the pause image's program: it must exit 0 on SIGTERM.
func TestPauseInChroot(t *testing.T) {
	dir := imagesDir(t)
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root, not -short")
	}
	img := readImage(t, filepath.Join(dir, "pause-3.10.2.tar"))
	root := t.TempDir()
	unpack(t, img, root)
	cmd := exec.Command("chroot", "--userspec=65535:65535", root, "/pause")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Give it time to install its signal handlers (chroot execs it).
	for i := 0; i < 50 && !strings.Contains(stderr.String(), "first process"); i++ {
		sleep()
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("pause: %v (stderr %q)", err, stderr.String())
	}
}

// TestNonewprivsInChroot runs nnp as uid 1000: setuid root, it must print
// an effective uid of 0.
func TestNonewprivsInChroot(t *testing.T) {
	dir := imagesDir(t)
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root, not -short")
	}
	img := readImage(t, filepath.Join(dir, "nonewprivs-1.4.tar"))
	root := t.TempDir()
	unpack(t, img, root)
	out, err := exec.Command("chroot", "--userspec=1000:1000", root, "/usr/local/bin/nnp").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Effective uid: 0") {
		t.Errorf("nnp as uid 1000: %v, %q (is %s mounted nosuid?)", err, out, root)
	}
}

// TestFakeRegistryInChroot runs agnhost's fake-registry-server in the
// unpacked agnhost image and pulls pause:testing from it by hand: tag, index,
// manifest, config and layer, each with the digest it is asked by.
func TestFakeRegistryInChroot(t *testing.T) {
	dir := imagesDir(t)
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root, not -short")
	}
	img := readImage(t, filepath.Join(dir, "agnhost-2.66.1.tar"))
	root := t.TempDir()
	unpack(t, img, root)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("chroot", root, "/agnhost", "fake-registry-server", "--port", strconv.Itoa(port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d/v2/pause/", port)
	get := func(path, digest string) []byte {
		t.Helper()
		var resp *http.Response
		var err error
		for i := 0; i < 50; i++ { // until the server listens
			if resp, err = http.Get(base + path); err == nil {
				break
			}
			sleep()
		}
		if err != nil {
			t.Fatalf("%s: %v (server: %s)", path, err, logs.String())
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v %s %q", path, err, resp.Status, b)
		}
		if digest != "" && sha(b) != digest {
			t.Fatalf("%s: got digest %s", path, sha(b))
		}
		return b
	}
	var index struct {
		Manifests []struct {
			Digest   string
			Platform struct{ Architecture, OS string }
		}
	}
	mustJSON(t, get("manifests/testing", ""), &index)
	if len(index.Manifests) != 1 || index.Manifests[0].Platform.OS != "linux" || index.Manifests[0].Platform.Architecture != "amd64" {
		t.Fatalf("index %+v", index)
	}
	var manifest struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	mustJSON(t, get("manifests/"+index.Manifests[0].Digest, index.Manifests[0].Digest), &manifest)
	get("blobs/"+manifest.Config.Digest, manifest.Config.Digest)
	for _, l := range manifest.Layers {
		get("blobs/"+l.Digest, l.Digest)
	}
}

func sleep() { time.Sleep(100 * time.Millisecond) }

func chroot(root string, env []string, script string) (string, error) {
	cmd := exec.Command("chroot", root, "/bin/sh", "-c", script)
	cmd.Env = append(slices.Clone(env), "HOME=/root")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// unpack writes the image's files under root.
func unpack(t *testing.T, img *image, root string) {
	t.Helper()
	paths := make([]string, 0, len(img.fs))
	for p := range img.fs {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var dirs []string
	for _, p := range paths {
		e := img.fs[p]
		host := filepath.Join(root, filepath.FromSlash(p))
		var err error
		switch e.typ {
		case tar.TypeDir:
			err = os.MkdirAll(host, 0o755)
			dirs = append(dirs, p)
		case tar.TypeSymlink:
			err = os.Symlink(e.link, host)
		case tar.TypeReg:
			if err = os.WriteFile(host, e.data, 0o600); err == nil {
				err = os.Chmod(host, fileMode(e.mode))
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range dirs {
		if err := os.Chmod(filepath.Join(root, filepath.FromSlash(p)), fileMode(img.fs[p].mode)|os.ModeDir); err != nil {
			t.Fatal(err)
		}
	}
}

func fileMode(m int64) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
