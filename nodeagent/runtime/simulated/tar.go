package simulated

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
)

// files is a simulated pod's file system: what `tar -x` (kubectl cp to the
// pod) wrote, for `tar -c` (kubectl cp from it) to read back. It is made on
// the first write; most pods never have one.
type files struct {
	mu sync.Mutex
	m  map[string][]byte // clean absolute path → content
}

// maxFiles bounds what one pod's simulated file system holds.
const maxFiles = 64 << 20

// tarCmd runs `tar -x...f - [-C dir]` or `tar c...f - PATH`: the commands
// kubectl cp runs in a container.
func (fs *files) tarCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var mode, dir, target string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-C" && i+1 < len(args):
			dir = args[i+1]
			i++
		case strings.HasPrefix(a, "--"):
		case strings.HasPrefix(a, "-") || (i == 0 && strings.ContainsAny(a, "cx")):
			if strings.Contains(a, "x") {
				mode = "x"
			} else if strings.Contains(a, "c") {
				mode = "c"
			}
		default:
			target = a
		}
	}
	switch mode {
	case "x":
		return fs.extract(stdin, dir, stderr)
	case "c":
		if target == "" {
			fmt.Fprintln(stderr, "tar: empty archive")
			return 1
		}
		return fs.create(target, stdout, stderr)
	}
	fmt.Fprintln(stderr, "tar: need -x or -c")
	return 1
}

func (fs *files) extract(r io.Reader, dir string, stderr io.Writer) int {
	if r == nil {
		fmt.Fprintln(stderr, "tar: no input")
		return 1
	}
	tr := tar.NewReader(r)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[string][]byte{}
	}
	size := 0
	for _, b := range fs.m {
		size += len(b)
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "tar: %v\n", err)
			return 1
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, int64(maxFiles-size+1)))
		if err != nil || size+len(b) > maxFiles {
			fmt.Fprintln(stderr, "tar: write error: No space left on device")
			return 1
		}
		size += len(b)
		fs.m[path.Join("/", dir, h.Name)] = b
	}
}

func (fs *files) create(target string, w io.Writer, stderr io.Writer) int {
	target = path.Join("/", target)
	fs.mu.Lock()
	var names []string
	for name := range fs.m {
		if name == target || strings.HasPrefix(name, target+"/") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	contents := make([][]byte, len(names))
	for i, n := range names {
		contents[i] = fs.m[n]
	}
	fs.mu.Unlock()
	if len(names) == 0 {
		fmt.Fprintf(stderr, "tar: %s: No such file or directory\n", strings.TrimPrefix(target, "/"))
		return 1
	}
	if w == nil {
		w = io.Discard
	}
	tw := tar.NewWriter(w)
	for i, n := range names {
		h := &tar.Header{Name: strings.TrimPrefix(n, "/"), Mode: 0o644, Size: int64(len(contents[i])), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return 1
		}
		if _, err := tw.Write(contents[i]); err != nil {
			return 1
		}
	}
	if err := tw.Close(); err != nil {
		return 1
	}
	return 0
}
