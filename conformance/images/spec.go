package main

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pathEnv is the PATH of Alpine's and Debian's images alike.
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// inputs are the files images are made of.
type inputs struct {
	bin   func(name string) string            // a binary built by build.sh
	k8s   func(rel string) string             // a file of the k8s.io/kubernetes module
	image func(file string) (v1.Image, error) // an image built before (by archive name)
	debs  *debs
}

// spec describes one image: its archive, its names, what its own layer
// holds, and its config. An image with a base has the base's layers first
// (and starts from the base's config).
type spec struct {
	file   string                            // archive file name in the output folder
	refs   []string                          // full references the archive names the image by
	base   string                            // file of the base image, or ""
	build  func(in *inputs, r *rootfs) error // nil: no layer of its own
	config func(base v1.Config) v1.Config
	recipe string // io.kubelite.image.recipe label: where the content comes from
}

// Users and groups of the images' /etc/passwd and /etc/group.
const (
	alpinePasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/:/sbin/nologin\n"
	alpineGroup = "root:x:0:root\n" +
		"nobody:x:65534:\n"
	// The agnhost image defines user-defined-in-image (uid 1000), member of
	// group-defined-in-image (gid 50000): a SupplementalGroupsPolicy test
	// expects `id -G` to print 1000 50000 60000 for uid 1000.
	agnhostPasswd = alpinePasswd +
		"user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n"
	agnhostGroup = alpineGroup +
		"user-defined-in-image:x:1000:\n" +
		"group-defined-in-image:x:50000:user-defined-in-image\n"
	nginxPasswd = alpinePasswd + "nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n"
	nginxGroup  = alpineGroup + "nginx:x:101:nginx\n"
	// The busybox image's users, as in Docker's busybox image.
	busyboxPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n" +
		"bin:x:2:2:bin:/bin:/bin/false\n" +
		"sys:x:3:3:sys:/dev:/bin/false\n" +
		"sync:x:4:100:sync:/bin:/bin/sync\n" +
		"mail:x:8:8:mail:/var/spool/mail:/bin/false\n" +
		"www-data:x:33:33:www-data:/var/www:/bin/false\n" +
		"operator:x:37:37:Operator:/var:/bin/false\n" +
		"nobody:x:65534:65534:nobody:/home:/bin/false\n"
	busyboxGroup = "root:x:0:\n" + "daemon:x:1:\n" + "bin:x:2:\n" + "sys:x:3:\n" +
		"adm:x:4:\n" + "tty:x:5:\n" + "disk:x:6:\n" + "wheel:x:10:root\n" +
		"mail:x:8:\n" + "www-data:x:33:\n" + "operator:x:37:\n" + "staff:x:50:\n" +
		"users:x:100:\n" + "nogroup:x:65534:\n"
	// Debian's (debian:bookworm-slim) system users that matter here.
	debianPasswd = "root:x:0:0:root:/root:/bin/bash\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	debianGroup = "root:x:0:\n" + "nogroup:x:65534:\n"
	// distroless/static's users (the etcd image's base upstream).
	distrolessPasswd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	distrolessGroup = "root:x:0:\n" + "nobody:x:65534:\n" + "nonroot:x:65532:\n"

	// glibc reads /etc/nsswitch.conf for getent and name resolution; musl
	// and Go ignore it.
	nsswitch = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n" +
		"networks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n"
)

// system adds what every image but pause has: the usual top-level folders,
// /etc/passwd and /etc/group, and /etc/nsswitch.conf.
func system(r *rootfs, passwd, group string) {
	for _, d := range []string{"/dev", "/proc", "/sys", "/etc", "/home", "/run", "/var", "/usr/local/bin"} {
		r.dir(d, 0o755)
	}
	r.dir("/root", 0o700)
	r.dir("/tmp", 0o1777)
	r.dir("/var/tmp", 0o1777)
	r.data("/etc/passwd", 0o644, passwd)
	r.data("/etc/group", 0o644, group)
	r.data("/etc/nsswitch.conf", 0o644, nsswitch)
}

func pkgs(r *rootfs, names ...string) error {
	for _, n := range names {
		if err := r.pkg(n); err != nil {
			return err
		}
	}
	return nil
}

func ports(ps ...string) map[string]struct{} {
	m := map[string]struct{}{}
	for _, p := range ps {
		m[p+"/tcp"] = struct{}{}
	}
	return m
}

// agnhostRoot is the agnhost image's layer: upstream's Dockerfile (Alpine
// with bind-tools, curl, netcat-openbsd, iproute2, bash) rebuilt from Debian
// packages, with agnhost built from the module.
func agnhostRoot(in *inputs, r *rootfs) error {
	if err := r.file("/agnhost", in.bin("agnhost"), 0o755); err != nil {
		return err
	}
	// The entrypoint-tester tests override the entrypoint with /agnhost-2.
	r.symlink("/agnhost-2", "agnhost")
	for _, f := range []string{"localhost.crt", "localhost.key"} {
		if err := r.file("/"+f, in.k8s("test/images/agnhost/porter/"+f), 0o644); err != nil {
			return err
		}
	}
	r.dir("/uploads", 0o755)
	if err := fakeRegistry(in, r); err != nil {
		return err
	}
	system(r, agnhostPasswd, agnhostGroup)
	r.dir("/home/user-defined-in-image", 0o755)
	// curl; dig, nslookup, host; nc (OpenBSD's, with -U, -z, -w); ip and ss;
	// bash. Their libraries come with closeELF.
	if err := pkgs(r, "curl", "bind9-dnsutils", "bind9-host", "netcat-openbsd", "iproute2", "bash"); err != nil {
		return err
	}
	// Debian makes /bin/nc an alternative (a link set up by a maintainer
	// script, not in the package).
	r.symlink("/bin/nc", "nc.openbsd")
	if err := r.busybox("busybox", false); err != nil {
		return err
	}
	return r.closeELF()
}

// fakeRegistry fills /var/registry, what `agnhost fake-registry-server`
// serves, as upstream's fakeregistryserver/prepare_registry.sh does from its
// images.txt ("pause 3.10.2 testing"): the image pause:testing, here our pause
// image, as an index with its linux/amd64 manifest. Layout: a tag file
// manifests/<tag> holding the index digest; manifests and blobs at
// <kind>/sha256/<2 hex>/<hex>/data.
func fakeRegistry(in *inputs, r *rootfs) error {
	pause, err := in.image("pause-3.10.2.tar")
	if err != nil {
		return err
	}
	index := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	index = mutate.AppendManifests(index, mutate.IndexAddendum{
		Add:        pause,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{Architecture: "amd64", OS: "linux"}},
	})
	dir := "/var/registry/pause"
	at := func(kind string, h v1.Hash) string {
		return fmt.Sprintf("%s/%s/%s/%s/%s/data", dir, kind, h.Algorithm, h.Hex[:2], h.Hex)
	}
	put := func(kind string, b []byte) {
		h, _, _ := v1.SHA256(bytes.NewReader(b))
		r.data(at(kind, h), 0o644, string(b))
	}
	raw, err := index.RawManifest()
	if err != nil {
		return err
	}
	put("manifests", raw)
	digest, err := index.Digest()
	if err != nil {
		return err
	}
	r.data(dir+"/manifests/testing", 0o644, digest.String()+"\n")
	if raw, err = pause.RawManifest(); err != nil {
		return err
	}
	put("manifests", raw)
	if raw, err = pause.RawConfigFile(); err != nil {
		return err
	}
	put("blobs", raw)
	layers, err := pause.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		put("blobs", b)
	}
	return nil
}

const nginxConf = `# kubelite's nginx image: upstream nginx image's defaults, in one file.
user nginx;
worker_processes auto;
error_log /dev/stderr notice;
pid /run/nginx.pid;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;

    server {
        listen 80;
        server_name localhost;
        location / {
            root /usr/share/nginx/html;
            index index.html index.htm;
        }
    }
}
`

const nginxIndex = `<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and working.</p>
</body>
</html>
`

// specs are the images `make images` builds, in build order (a base, or
// an image another one holds, before it).
var specs = []spec{
	{
		file: "pause-3.10.2.tar",
		refs: []string{"registry.k8s.io/pause:3.10.2"},
		build: func(in *inputs, r *rootfs) error {
			return r.file("/pause", in.bin("pause"), 0o755)
		},
		config: func(v1.Config) v1.Config {
			return v1.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"}
		},
		recipe: "kubelite's pause (conformance/images/pause, CGO_ENABLED=0): sleeps until SIGINT/SIGTERM, reaps children",
	},
	{
		file:  "agnhost-2.66.1.tar",
		refs:  []string{"registry.k8s.io/e2e-test-images/agnhost:2.66.1"},
		build: agnhostRoot,
		config: func(v1.Config) v1.Config {
			return v1.Config{
				Entrypoint:   []string{"/agnhost"},
				Cmd:          []string{"pause"},
				Env:          []string{pathEnv},
				ExposedPorts: ports("80", "8080", "8081", "9376", "5000"),
			}
		},
		recipe: "agnhost (k8s.io/kubernetes test/images/agnhost, CGO_ENABLED=0); porter's localhost.crt/key; " +
			"the pause image as pause:testing in /var/registry (fake-registry-server); " +
			"Debian busybox applets; Debian curl, bind9-dnsutils, bind9-host, netcat-openbsd, iproute2, bash with their shared libraries",
	},
	{
		// The same image under the previous tag some tests still use.
		file: "agnhost-2.55.tar",
		refs: []string{"registry.k8s.io/e2e-test-images/agnhost:2.55"},
		base: "agnhost-2.66.1.tar",
		// No layer, config or label of its own: the very same image (same
		// digest) as agnhost:2.66.1.
		config: func(base v1.Config) v1.Config { return base },
	},
	{
		file: "busybox-1.37.0-2.tar",
		refs: []string{"registry.k8s.io/e2e-test-images/busybox:1.37.0-2"},
		build: func(in *inputs, r *rootfs) error {
			system(r, busyboxPasswd, busyboxGroup)
			r.dir("/var/spool/mail", 0o755)
			r.dir("/var/www", 0o755)
			r.dir("/usr/sbin", 0o755)
			return r.busybox("busybox-static", true)
		},
		config: func(v1.Config) v1.Config {
			return v1.Config{Cmd: []string{"sh"}, Env: []string{pathEnv}}
		},
		recipe: "Debian busybox-static: /bin/busybox and a link in /bin for each applet",
	},
	{
		file: "nginx-1.27.0-2.tar",
		refs: []string{"registry.k8s.io/e2e-test-images/nginx:1.27.0-2"},
		build: func(in *inputs, r *rootfs) error {
			system(r, nginxPasswd, nginxGroup)
			if err := r.pkgFile("nginx", "/usr/sbin/nginx"); err != nil {
				return err
			}
			if err := r.pkgFile("nginx-common", "/etc/nginx/mime.types"); err != nil {
				return err
			}
			r.data("/etc/nginx/nginx.conf", 0o644, nginxConf)
			r.data("/usr/share/nginx/html/index.html", 0o644, nginxIndex)
			// Debian's nginx opens /var/log/nginx/error.log before it reads
			// its config, and keeps request bodies in /var/lib/nginx.
			r.dir("/var/log/nginx", 0o755)
			r.dir("/var/lib/nginx", 0o755)
			r.dir("/var/cache/nginx", 0o755)
			if err := r.busybox("busybox-static", false); err != nil {
				return err
			}
			return r.closeELF()
		},
		config: func(v1.Config) v1.Config {
			return v1.Config{
				Cmd:          []string{"nginx", "-g", "daemon off;"},
				Env:          []string{pathEnv},
				ExposedPorts: ports("80"),
				StopSignal:   "SIGQUIT",
			}
		},
		recipe: "Debian nginx (binary, mime.types) with its shared libraries, a one-file config serving /usr/share/nginx/html on :80; busybox-static applets",
	},
	{
		file: "glibc-dns-testing-2.1.1.tar",
		refs: []string{"registry.k8s.io/e2e-test-images/glibc-dns-testing:2.1.1"},
		build: func(in *inputs, r *rootfs) error {
			if err := pkgs(r, "base-files", "dash", "bash", "coreutils", "grep", "sed", "mawk",
				"hostname", "findutils", "libc-bin", "bind9-dnsutils", "bind9-host"); err != nil {
				return err
			}
			system(r, debianPasswd, debianGroup)
			r.symlink("/usr/bin/awk", "mawk") // an alternative in Debian
			return r.closeELF()
		},
		config: func(v1.Config) v1.Config {
			return v1.Config{Cmd: []string{"bash"}, Env: []string{pathEnv}}
		},
		recipe: "Debian bookworm packages base-files, dash, bash, coreutils, grep, sed, mawk, hostname, findutils, " +
			"libc-bin (getent), bind9-dnsutils (dig) and bind9-host, with their shared libraries (glibc)",
	},
	{
		file: "nautilus-1.8.tar",
		refs: []string{"registry.k8s.io/e2e-test-images/nautilus:1.8"},
		base: "agnhost-2.66.1.tar",
		build: func(in *inputs, r *rootfs) error {
			if err := r.file("/nautilus.jpg", in.k8s("test/images/nautilus/html/nautilus.jpg"), 0o644); err != nil {
				return err
			}
			return r.file("/data.json", in.k8s("test/images/nautilus/html/data.json"), 0o644)
		},
		config: func(base v1.Config) v1.Config {
			base.Cmd = []string{"test-webserver"}
			return base
		},
		recipe: "the agnhost image plus test/images/nautilus/html's nautilus.jpg and data.json in /; agnhost test-webserver serves / on :80",
	},
	{
		file: "kitten-1.8.tar",
		refs: []string{"registry.k8s.io/e2e-test-images/kitten:1.8"},
		base: "agnhost-2.66.1.tar",
		build: func(in *inputs, r *rootfs) error {
			if err := r.file("/kitten.jpg", in.k8s("test/images/kitten/html/kitten.jpg"), 0o644); err != nil {
				return err
			}
			return r.file("/data.json", in.k8s("test/images/kitten/html/data.json"), 0o644)
		},
		config: func(base v1.Config) v1.Config {
			base.Cmd = []string{"test-webserver"}
			return base
		},
		recipe: "the agnhost image plus test/images/kitten/html's kitten.jpg and data.json in /; agnhost test-webserver serves / on :80",
	},
	{
		file: "nonewprivs-1.4.tar",
		refs: []string{"registry.k8s.io/e2e-test-images/nonewprivs:1.4"},
		build: func(in *inputs, r *rootfs) error {
			system(r, alpinePasswd, alpineGroup)
			// `chmod +s`: setuid and setgid root, so that it prints
			// "Effective uid: 0" when privilege escalation is allowed.
			if err := r.file("/usr/local/bin/nnp", in.bin("nonewprivs"), 0o6755); err != nil {
				return err
			}
			return r.busybox("busybox-static", false)
		},
		config: func(v1.Config) v1.Config {
			return v1.Config{Cmd: []string{"nnp"}, Env: []string{pathEnv}}
		},
		recipe: "nnp (k8s.io/kubernetes test/images/nonewprivs, CGO_ENABLED=0) setuid/setgid root at /usr/local/bin/nnp; busybox-static applets",
	},
	{
		file: "sample-apiserver-1.29.2.tar",
		refs: []string{"registry.k8s.io/e2e-test-images/sample-apiserver:1.29.2"},
		build: func(in *inputs, r *rootfs) error {
			system(r, alpinePasswd, alpineGroup)
			if err := r.file("/sample-apiserver", in.bin("sample-apiserver"), 0o755); err != nil {
				return err
			}
			return r.busybox("busybox-static", false)
		},
		config: func(v1.Config) v1.Config {
			return v1.Config{Entrypoint: []string{"/sample-apiserver"}, Env: []string{pathEnv}}
		},
		recipe: "k8s.io/sample-apiserver v0.37.2 (CGO_ENABLED=0) at /sample-apiserver; busybox-static applets",
	},
	{
		file: "etcd-3.7.0-0.tar",
		refs: []string{"registry.k8s.io/etcd:3.7.0-0"},
		build: func(in *inputs, r *rootfs) error {
			system(r, distrolessPasswd, distrolessGroup)
			for _, b := range []string{"etcd", "etcdctl", "etcdutl"} {
				if err := r.file("/usr/local/bin/"+b, in.bin(b), 0o755); err != nil {
					return err
				}
			}
			return nil
		},
		config: func(v1.Config) v1.Config {
			return v1.Config{
				Cmd:          []string{"/usr/local/bin/etcd"},
				Env:          []string{pathEnv},
				WorkingDir:   "/",
				ExposedPorts: ports("2379", "2380"),
			}
		},
		recipe: "etcd, etcdctl, etcdutl v3.7.0 (go.etcd.io/etcd/{server,etcdctl,etcdutl}/v3, CGO_ENABLED=0) in /usr/local/bin",
	},
}
