package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"k8s.io/klog/v2"
)

// DaemonConfig configures a containerd of kubelite's own.
type DaemonConfig struct {
	// Dir holds its socket, config, root and state (<data-dir>/containerd).
	// Required.
	Dir string
	// Install runs `apt-get install containerd runc` when either binary is
	// missing. Needs root.
	Install bool
	// Log receives the daemon's output. Nil: Dir/containerd.log.
	Log *os.File
}

// Daemon is a containerd that kubelite started, or found running on its
// socket.
type Daemon struct {
	// Address is the daemon's socket.
	Address string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Address returns the socket of the containerd that dir holds.
func Address(dir string) string { return filepath.Join(dir, "containerd.sock") }

// StartDaemon returns the containerd answering on Address(cfg.Dir), starting
// one as a child process if none does. Close stops only a daemon it started.
func StartDaemon(ctx context.Context, cfg DaemonConfig) (*Daemon, error) {
	if cfg.Dir == "" {
		return nil, errors.New("containerd daemon: no directory")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	d := &Daemon{Address: Address(dir)}
	if answers(ctx, d.Address) {
		return d, nil
	}
	bin, err := EnsureInstalled(ctx, cfg.Install)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(conf, []byte(daemonConfig(dir)), 0o644); err != nil {
		return nil, err
	}
	_ = os.Remove(d.Address) // a stale socket of a daemon that died
	logf := cfg.Log
	if logf == nil {
		if logf, err = os.OpenFile(filepath.Join(dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return nil, err
		}
		defer logf.Close()
	}
	// Not CommandContext: the daemon outlives a cancelled start, Close ends it.
	d.cmd = exec.Command(bin, "--config", conf)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group: a terminal's Ctrl-C reaches the agent, which
	// stops the daemon after its pods' work is done.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	d.exited = make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	start := time.Now()
	for !answers(ctx, d.Address) {
		select {
		case <-d.exited:
			return nil, fmt.Errorf("containerd exited at start: %v; see %s", d.cmd.ProcessState, filepath.Join(dir, "containerd.log"))
		case <-ctx.Done():
			d.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > time.Minute {
			d.Close()
			return nil, fmt.Errorf("containerd did not answer on %s within a minute", d.Address)
		}
	}
	klog.FromContext(ctx).Info("Started containerd", "address", d.Address, "pid", d.cmd.Process.Pid, "took", time.Since(start))
	return d, nil
}

// Close stops the daemon if StartDaemon started it: SIGTERM, then SIGKILL
// after 10 s. Containers keep running (their shims are not its children) and
// a daemon started later on the same directory finds them again.
func (d *Daemon) Close() error {
	if d.cmd == nil {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	return nil
}

// answers reports whether a containerd answers on address.
func answers(ctx context.Context, address string) bool {
	if _, err := os.Stat(address); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := containerd.New(address, containerd.WithTimeout(time.Second))
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.Version(ctx)
	return err == nil
}

// EnsureInstalled returns the path of containerd, checking that runc is
// there too; with install, it installs both from the distribution's
// packages when either is missing.
func EnsureInstalled(ctx context.Context, install bool) (string, error) {
	missing := func() error {
		for _, b := range []string{"containerd", "runc"} {
			if _, err := exec.LookPath(b); err != nil {
				return fmt.Errorf("%s is not installed (apt-get install containerd runc, or make containerd)", b)
			}
		}
		return nil
	}
	if err := missing(); err != nil {
		if !install {
			return "", err
		}
		if os.Geteuid() != 0 {
			return "", fmt.Errorf("%w; installing needs root", err)
		}
		klog.FromContext(ctx).Info("Installing containerd and runc with apt-get")
		if out, err := aptInstall(ctx); err != nil {
			return "", fmt.Errorf("apt-get install containerd runc: %w: %s", err, out)
		}
		if err := missing(); err != nil {
			return "", err
		}
	}
	return exec.LookPath("containerd")
}

func aptInstall(ctx context.Context) ([]byte, error) {
	install := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "containerd", "runc")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if out, err := install(); err == nil {
		return out, nil
	}
	// A fresh machine has no package lists yet.
	if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
		return out, err
	}
	return install()
}

// daemonConfig is containerd's configuration (version 2, which containerd
// 1.6 and 1.7 read) for a daemon living in dir: its own socket, root and
// state, without the CRI plugin (kubelite is its only client).
func daemonConfig(dir string) string {
	return fmt.Sprintf(`# Written by kubelite: a containerd of its own, beside any other on the machine.
version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[debug]
  level = "warn"

[metrics]
  address = ""
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), Address(dir), Address(dir)+".ttrpc")
}
