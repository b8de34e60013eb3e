package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// epoch is the modification time of every entry of every layer, so that a
// rebuild from the same inputs gives the same layer digests.
var epoch = time.Unix(0, 0).UTC()

// entry is one file, directory or symbolic link of a root filesystem.
type entry struct {
	typ  byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode int64  // permission bits, with setuid/setgid/sticky
	src  string // regular file: the host file holding its content
	data []byte // regular file: its content, when src is empty
	link string // symbolic link: its target
}

// rootfs is a root filesystem assembled in memory: paths (absolute, clean)
// to entries. Files keep a reference to their host source; nothing is copied
// until the layer is written.
type rootfs struct {
	entries map[string]*entry
	debs    *debs
}

func newRootfs(d *debs) *rootfs {
	r := &rootfs{entries: map[string]*entry{}, debs: d}
	r.entries["/"] = &entry{typ: tar.TypeDir, mode: 0o755}
	return r
}

func clean(p string) string { return path.Clean("/" + p) }

// put adds or replaces an entry, creating missing parent directories (0755).
func (r *rootfs) put(p string, e *entry) {
	p = clean(p)
	for dir := path.Dir(p); ; dir = path.Dir(dir) {
		if _, ok := r.entries[dir]; ok {
			break
		}
		r.entries[dir] = &entry{typ: tar.TypeDir, mode: 0o755}
	}
	r.entries[p] = e
}

func (r *rootfs) dir(p string, mode int64) {
	r.put(p, &entry{typ: tar.TypeDir, mode: mode})
}

func (r *rootfs) data(p string, mode int64, content string) {
	r.put(p, &entry{typ: tar.TypeReg, mode: mode, data: []byte(content)})
}

func (r *rootfs) symlink(p, target string) {
	r.put(p, &entry{typ: tar.TypeSymlink, mode: 0o777, link: target})
}

// file adds the host file src at p with the given mode (0 keeps src's mode).
func (r *rootfs) file(p, src string, mode int64) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	if mode == 0 {
		mode = int64(fi.Mode().Perm())
	}
	r.put(p, &entry{typ: tar.TypeReg, mode: mode, src: src})
	return nil
}

// has reports whether p exists in the tree, without following links.
func (r *rootfs) has(p string) bool {
	_, ok := r.entries[clean(p)]
	return ok
}

// skippedInPackages are the parts of Debian packages that an image does not
// need: documentation, translations, service manager integration, plugins.
var skippedInPackages = []string{
	"/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/lintian",
	"/usr/share/locale", "/usr/share/bug", "/usr/share/doc-base", "/usr/share/menu",
	"/usr/share/bash-completion", "/usr/share/zsh", "/lib/systemd", "/usr/lib/systemd",
	"/etc/init.d", "/etc/logrotate.d", "/etc/cron.daily", "/etc/ufw",
	// tc's optional plugins (iproute2), loaded with dlopen; q_atm.so needs
	// libatm1, which Debian only recommends.
	"/usr/lib/x86_64-linux-gnu/tc",
	"/usr/include",
}

func skipped(p string) bool {
	for _, s := range skippedInPackages {
		if p == s || strings.HasPrefix(p, s+"/") {
			return true
		}
	}
	return false
}

// pkg adds every file of the Debian package name (as extracted by
// `dpkg-deb -x`), except documentation and the like (skippedInPackages).
// Libraries the package's programs need are added by closeELF.
func (r *rootfs) pkg(name string) error {
	root, err := r.debs.root(name)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(host string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, host)
		p := clean(filepath.ToSlash(rel))
		if skipped(p) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if p == "/" {
			return nil
		}
		return r.addHost(p, host)
	})
}

// pkgFile adds one path of the Debian package name (a file or a symbolic
// link, whose target is not followed).
func (r *rootfs) pkgFile(name, p string) error {
	root, err := r.debs.root(name)
	if err != nil {
		return err
	}
	return r.addHost(clean(p), filepath.Join(root, filepath.FromSlash(p)))
}

// addHost adds the host path host (a directory, regular file or symbolic
// link, not followed) at p, keeping its permission bits.
func (r *rootfs) addHost(p, host string) error {
	fi, err := os.Lstat(host)
	if err != nil {
		return err
	}
	mode := int64(fi.Mode().Perm())
	if fi.Mode()&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	switch {
	case fi.IsDir():
		if e, ok := r.entries[p]; ok && e.typ == tar.TypeDir {
			return nil // keep the mode of a directory already there
		}
		r.put(p, &entry{typ: tar.TypeDir, mode: mode})
	case fi.Mode().IsRegular():
		r.put(p, &entry{typ: tar.TypeReg, mode: mode, src: host})
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(host)
		if err != nil {
			return err
		}
		r.symlink(p, target)
	default:
		return fmt.Errorf("%s: unsupported file type %v", host, fi.Mode().Type())
	}
	return nil
}

// busybox adds the busybox of the Debian package pkg at /bin/busybox and a
// symbolic link to it for each applet. pkg is busybox-static (static) or
// busybox (linked with glibc). busybox-static's shell runs its own applets
// in preference to programs in PATH (FEATURE_PREFER_APPLETS), so an image
// that also has, say, netcat-openbsd's nc must use the busybox package,
// whose shell looks programs up in PATH. With allInBin
// every applet is in /bin (as in the busybox image); otherwise each goes to
// the place `busybox --list-full` gives (/bin, /sbin, /usr/bin, /usr/sbin, as
// on Alpine). An applet whose name is already a program in one of the bin
// folders (e.g. curl, nc or ip from a Debian package) is left out, so that the
// full program is the one found in PATH.
func (r *rootfs) busybox(pkg string, allInBin bool) error {
	if err := r.pkgFile(pkg, "/bin/busybox"); err != nil {
		return err
	}
	applets, err := r.debs.applets(pkg)
	if err != nil {
		return err
	}
	taken := map[string]bool{}
	for _, dir := range binDirs {
		for p := range r.entries {
			if path.Dir(p) == dir && p != "/bin/busybox" {
				taken[path.Base(p)] = true
			}
		}
	}
	for _, a := range applets {
		name := path.Base(a)
		if name == "busybox" || name == "linuxrc" || taken[name] {
			continue
		}
		p := "/bin/" + name
		if !allInBin {
			p = clean(a)
		}
		r.symlink(p, "/bin/busybox")
	}
	return nil
}

var binDirs = []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}

// libDirs are the folders the dynamic loader of Debian's glibc searches
// when a library is neither in the program's RUNPATH nor in ld.so.cache (the
// images have no ld.so.cache).
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// closeELF adds, for every dynamically linked ELF file of the tree, its
// interpreter (the dynamic loader) and the libraries it needs (DT_NEEDED),
// recursively, taken from the extracted Debian packages: the shared-library
// closure. Symbolic links on the way (e.g. libfoo.so.1 -> libfoo.so.1.2.3)
// are added too.
func (r *rootfs) closeELF() error {
	done := map[string]bool{}
	for {
		var todo []string
		for p, e := range r.entries {
			if e.typ == tar.TypeReg && !done[p] {
				todo = append(todo, p)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		sort.Strings(todo)
		for _, p := range todo {
			done[p] = true
			deps, err := r.elfDeps(p)
			if err != nil {
				return err
			}
			for _, dep := range deps {
				if err := r.addResolved(dep); err != nil {
					return fmt.Errorf("%s needs %s: %w", p, dep, err)
				}
			}
		}
	}
}

// elfDeps returns the absolute paths (in the Debian universe) of the
// interpreter and libraries the file at p needs, or nothing if p is not a
// dynamically linked ELF file.
func (r *rootfs) elfDeps(p string) ([]string, error) {
	e := r.entries[p]
	var rd io.ReaderAt
	if e.src != "" {
		f, err := os.Open(e.src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rd = f
	} else {
		rd = bytes.NewReader(e.data)
	}
	magic := make([]byte, 4)
	if _, err := rd.ReadAt(magic, 0); err != nil || string(magic) != elf.ELFMAG {
		return nil, nil
	}
	f, err := elf.NewFile(rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	var deps []string
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			b, err := io.ReadAll(prog.Open())
			if err != nil {
				return nil, err
			}
			deps = append(deps, strings.TrimRight(string(b), "\x00"))
		}
	}
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil || len(needed) == 0 {
		return deps, nil // static, or not linked against libraries
	}
	var search []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		paths, _ := f.DynString(tag)
		for _, rp := range paths {
			for _, dir := range strings.Split(rp, ":") {
				search = append(search, strings.ReplaceAll(dir, "$ORIGIN", path.Dir(p)))
			}
		}
	}
	search = append(search, libDirs...)
	for _, lib := range needed {
		found := ""
		for _, dir := range search {
			cand := path.Join(dir, lib)
			if _, ok := r.debs.resolve(cand); ok {
				found = cand
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("%s: library %s not found in the Debian packages", p, lib)
		}
		deps = append(deps, found)
	}
	return deps, nil
}

// addResolved adds p from the Debian universe, following symbolic links and
// adding each link and the final file.
func (r *rootfs) addResolved(p string) error {
	for hops := 0; hops < 40; hops++ {
		host, ok := r.debs.resolveDir(p)
		if !ok {
			return fmt.Errorf("%s not found in the Debian packages", p)
		}
		if !r.has(p) {
			if err := r.addHost(p, host); err != nil {
				return err
			}
		}
		fi, err := os.Lstat(host)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return nil
		}
		target, _ := os.Readlink(host)
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = clean(target)
	}
	return fmt.Errorf("%s: too many levels of symbolic links", p)
}

// writeTar writes the tree as a layer: sorted paths (parents first), owner
// root, fixed times, no user or group names.
func (r *rootfs) writeTar(w io.Writer) error {
	paths := make([]string, 0, len(r.entries))
	for p := range r.entries {
		if p != "/" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	tw := tar.NewWriter(w)
	for _, p := range paths {
		e := r.entries[p]
		h := &tar.Header{
			Typeflag: e.typ,
			Name:     strings.TrimPrefix(p, "/"),
			Mode:     e.mode,
			ModTime:  epoch,
			Format:   tar.FormatPAX,
		}
		switch e.typ {
		case tar.TypeDir:
			h.Name += "/"
		case tar.TypeSymlink:
			h.Linkname = e.link
		case tar.TypeReg:
			if e.src == "" {
				h.Size = int64(len(e.data))
			} else {
				fi, err := os.Stat(e.src)
				if err != nil {
					return err
				}
				h.Size = fi.Size()
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if e.typ != tar.TypeReg {
			continue
		}
		if e.src == "" {
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(e.src)
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
		if n != h.Size {
			return fmt.Errorf("%s changed while being read", e.src)
		}
	}
	return tw.Close()
}

// diffID is the sha256 of the uncompressed layer (what the image config lists).
func (r *rootfs) diffID() (string, error) {
	h := sha256.New()
	if err := r.writeTar(h); err != nil {
		return "", err
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil)), nil
}

// debs is the set of Debian packages extracted by build.sh: one folder per
// package, named after the package, holding what `dpkg-deb -x` extracted.
type debs struct {
	dir   string
	index map[string]string   // absolute path -> host path, over all packages
	bb    map[string][]string // busybox package -> its applets
}

// packageOf is the package a host file was extracted from, or "".
func (d *debs) packageOf(host string) string {
	rel, err := filepath.Rel(d.dir, host)
	if host == "" || err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return ""
	}
	return strings.Split(filepath.ToSlash(rel), "/")[0]
}

// root is the folder of package name.
func (d *debs) root(name string) (string, error) {
	root := filepath.Join(d.dir, name)
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("package %s is not extracted in %s (is it in build.sh's package list?)", name, d.dir)
	}
	return root, nil
}

// load indexes every path of every package. A path two packages ship (a
// directory, usually) maps to the first package in name order.
func (d *debs) load() error {
	if d.index != nil {
		return nil
	}
	d.index = map[string]string{}
	pkgs, err := os.ReadDir(d.dir)
	if err != nil {
		return err
	}
	for _, pkg := range pkgs {
		if !pkg.IsDir() {
			continue
		}
		root := filepath.Join(d.dir, pkg.Name())
		err := filepath.WalkDir(root, func(host string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, host)
			p := clean(filepath.ToSlash(rel))
			if _, ok := d.index[p]; !ok {
				d.index[p] = host
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// resolveDir finds p in the union of the packages, following symbolic links
// in p's folders (not in its last element). It returns the host path.
func (d *debs) resolveDir(p string) (string, bool) {
	if err := d.load(); err != nil {
		return "", false
	}
	dir, err := d.followDirs(path.Dir(clean(p)), 0)
	if err != nil {
		return "", false
	}
	host, ok := d.index[path.Join(dir, path.Base(p))]
	return host, ok
}

// resolve is resolveDir, then follows a symbolic link in the last element.
func (d *debs) resolve(p string) (string, bool) {
	for hops := 0; hops < 40; hops++ {
		host, ok := d.resolveDir(p)
		if !ok {
			return "", false
		}
		target, err := os.Readlink(host)
		if err != nil {
			return host, true // not a link
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(clean(p)), target)
		}
		p = target
	}
	return "", false
}

func (d *debs) followDirs(dir string, depth int) (string, error) {
	if dir == "/" || depth > 40 {
		return dir, nil
	}
	parent, err := d.followDirs(path.Dir(dir), depth+1)
	if err != nil {
		return "", err
	}
	p := path.Join(parent, path.Base(dir))
	host, ok := d.index[p]
	if !ok {
		return p, nil
	}
	if target, err := os.Readlink(host); err == nil {
		if !path.IsAbs(target) {
			target = path.Join(parent, target)
		}
		return d.followDirs(clean(target), depth+1)
	}
	return p, nil
}

// applets lists the applets of the busybox of package pkg with their
// install paths (`busybox --list-full`: bin/sh, usr/bin/wget, ...). The
// busybox runs on the build machine (linux/amd64 like the images; the
// dynamically linked one needs the machine's glibc, as on Debian).
func (d *debs) applets(pkg string) ([]string, error) {
	if list, ok := d.bb[pkg]; ok {
		return list, nil
	}
	root, err := d.root(pkg)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(filepath.Join(root, "bin/busybox"), "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s: busybox --list-full: %w", pkg, err)
	}
	list := strings.Fields(string(out))
	if len(list) == 0 {
		return nil, errors.New(pkg + ": busybox --list-full printed nothing")
	}
	sort.Strings(list)
	if d.bb == nil {
		d.bb = map[string][]string{}
	}
	d.bb[pkg] = list
	return list, nil
}
