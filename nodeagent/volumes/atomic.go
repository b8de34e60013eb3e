package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File is one file of a volume whose content comes from the API (configMap,
// secret, downwardAPI, projected).
type File struct {
	Data []byte
	Mode os.FileMode
}

// The names atomic writes use inside a volume's directory, as upstream's:
// the payload lives in a hidden directory "..<timestamp>", "..data" points
// at the current one, and each top-level entry the user sees is a symlink
// through "..data".
const (
	dataDir    = "..data"
	dataDirTmp = "..data_tmp"
)

// writeAtomic makes dir hold exactly files (paths relative to dir), so that
// a reader never sees a mix of old and new content: the new payload goes
// into a fresh hidden directory, then one rename swaps the "..data" symlink
// to it. It returns false without writing when dir already holds files.
// gid, when not negative, owns the files, which it may read (fsGroup).
func writeAtomic(dir string, files map[string]File, gid int64) (bool, error) {
	for p := range files {
		if err := checkPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	old, _ := os.Readlink(filepath.Join(dir, dataDir))
	if old != "" && sameContent(filepath.Join(dir, old), files, gid) {
		return false, nil
	}
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return false, err
	}
	for p, f := range files {
		full := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, f.Data, 0o600); err != nil {
			return false, err
		}
		mode := f.Mode
		if gid >= 0 {
			mode |= 0o040
			if err := os.Chown(full, -1, int(gid)); err != nil {
				return false, err
			}
		}
		if err := os.Chmod(full, mode); err != nil {
			return false, err
		}
	}
	// The user-visible entries: a symlink per top-level name, through ..data.
	top := topLevel(files)
	for _, name := range top {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDir, name), link); err != nil {
			return false, err
		}
	}
	tmp := filepath.Join(dir, dataDirTmp)
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataDir)); err != nil {
		return false, err
	}
	// What the old payload had and the new one does not.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return true, err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataDir || name == filepath.Base(ts):
		case strings.HasPrefix(name, ".."):
			errs = append(errs, os.RemoveAll(filepath.Join(dir, name)))
		case !slices.Contains(top, name) && e.Type()&fs.ModeSymlink != 0:
			errs = append(errs, os.Remove(filepath.Join(dir, name)))
		}
	}
	return true, errors.Join(errs...)
}

// checkPath refuses paths that would leave the volume, as validation does:
// absolute, with a ".." element, or starting with "..".
func checkPath(p string) error {
	if p == "" || path.IsAbs(p) || strings.HasPrefix(p, "..") || slices.Contains(strings.Split(p, "/"), "..") {
		return fmt.Errorf("invalid file path %q in volume", p)
	}
	return nil
}

func topLevel(files map[string]File) []string {
	var out []string
	for p := range files {
		name, _, _ := strings.Cut(path.Clean(p), "/")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// sameContent reports whether the payload directory dir holds exactly files.
func sameContent(dir string, files map[string]File, gid int64) bool {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, ok := files[filepath.ToSlash(rel)]
		if !ok {
			return fs.ErrNotExist
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := f.Mode
		if gid >= 0 {
			mode |= 0o040
		}
		if info.Mode().Perm() != mode.Perm() {
			return fs.ErrInvalid
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, f.Data) {
			return fs.ErrInvalid
		}
		n++
		return nil
	})
	return err == nil && n == len(files)
}
