package app_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/kubelite/kubelite/cmd/kubelite/app"
)

// TestLocalNodeDefault: `kubelite server` runs the local node on containerd
// by default where it can (root, containerd and runc installed), and none
// elsewhere.
func TestLocalNodeDefault(t *testing.T) {
	want := "containerd"
	if os.Geteuid() != 0 {
		want = ""
	}
	for _, bin := range []string{"containerd", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			want = ""
		}
	}
	server, _, err := app.NewCommand().Find([]string{"server"})
	if err != nil {
		t.Fatal(err)
	}
	f := server.Flags().Lookup("local-node")
	if f == nil || f.DefValue != want {
		t.Fatalf("--local-node default = %v, want %q", f, want)
	}
}
