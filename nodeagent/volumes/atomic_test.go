package volumes

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestWriteAtomic: files appear through "..data" symlinks; a new payload
// swaps ..data to a new directory, drops keys that left and the old
// directory; an unchanged payload writes nothing; paths that leave the
// volume are refused.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	entries := func() []string {
		list, _ := os.ReadDir(dir)
		var out []string
		for _, e := range list {
			if !strings.HasPrefix(e.Name(), "..2") { // the timestamped directory
				out = append(out, e.Name())
			}
		}
		return out
	}

	wrote, err := writeAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o400}}, -1)
	if err != nil || !wrote {
		t.Fatalf("first write = %v, %v", wrote, err)
	}
	first, _ := os.Readlink(filepath.Join(dir, dataDir))
	if got := read("a") + read("sub/b"); got != "12" {
		t.Errorf("content %q, want 12", got)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "a")); l != "..data/a" {
		t.Errorf("a links to %q, want ..data/a", l)
	}
	if info, _ := os.Stat(filepath.Join(dir, "sub/b")); info.Mode().Perm() != 0o400 {
		t.Errorf("sub/b mode %v, want 0400", info.Mode().Perm())
	}
	if got, want := entries(), []string{"..data", "a", "sub"}; !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}

	if wrote, err := writeAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o400}}, -1); err != nil || wrote {
		t.Errorf("unchanged write = %v, %v; want nothing written", wrote, err)
	}

	if _, err := writeAtomic(dir, map[string]File{"a": {Data: []byte("3"), Mode: 0o644}, "c": {Data: []byte("4"), Mode: 0o644}}, -1); err != nil {
		t.Fatal(err)
	}
	if got := read("a") + read("c"); got != "34" {
		t.Errorf("content after update %q, want 34", got)
	}
	if got, want := entries(), []string{"..data", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("entries after update %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old payload directory %s stayed: %v", first, err)
	}

	for _, bad := range []string{"/abs", "../up", "x/../../up", "..hidden"} {
		if _, err := writeAtomic(dir, map[string]File{bad: {Data: []byte("x")}}, -1); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}

// TestKeysToFiles: every key without items; the named keys at their paths
// and modes with items; a missing key fails unless optional.
func TestKeysToFiles(t *testing.T) {
	data := map[string][]byte{"k1": []byte("v1"), "k2": []byte("v2")}
	out := map[string]File{}
	if err := keysToFiles("configmap", "cm", data, nil, 0o644, false, out); err != nil || len(out) != 2 || string(out["k2"].Data) != "v2" {
		t.Errorf("all keys: %v, %v", out, err)
	}
	out = map[string]File{}
	mode := int32(0o600)
	items := []corev1.KeyToPath{{Key: "k1", Path: "dir/one", Mode: &mode}}
	if err := keysToFiles("configmap", "cm", data, items, 0o644, false, out); err != nil || len(out) != 1 || out["dir/one"].Mode != 0o600 {
		t.Errorf("items: %v, %v", out, err)
	}
	items = append(items, corev1.KeyToPath{Key: "missing", Path: "m"})
	if err := keysToFiles("configmap", "cm", data, items, 0o644, false, map[string]File{}); err == nil ||
		err.Error() != `configmap "cm" references non-existent config key: missing` {
		t.Errorf("missing key: %v", err)
	}
	if err := keysToFiles("configmap", "cm", data, items, 0o644, true, map[string]File{}); err != nil {
		t.Errorf("missing key, optional: %v", err)
	}
}

func TestFormatMap(t *testing.T) {
	if got, want := formatMap(map[string]string{"b": `say "hi"`, "a": "1"}), "a=\"1\"\nb=\"say \\\"hi\\\"\""; got != want {
		t.Errorf("formatMap = %q, want %q", got, want)
	}
}
