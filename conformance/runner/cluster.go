package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cluster is the cluster under test: a kubelite server or an upstream control
// plane this run started, or an existing cluster reached through a kubeconfig.
type Cluster struct {
	Kind       string // "kubelite", "upstream control plane" or "existing cluster", for messages
	Kubeconfig string
	Describe   string // one line for the report: what was tested
	Versions   string // the upstream binaries' versions (CLUSTER=upstream)

	procs []*proc // started in this order, stopped in the reverse one
	// anyExit: any exit status after the SIGTERM sent is as asked (upstream's
	// kube-scheduler exits 1, "finished without leader elect").
	anyExit bool
	dataDir string
	keep    bool
	stopped bool
}

// proc is one server process of a cluster, its output copied to a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error
	log     string
	termed  bool // sent SIGTERM by stop, and ended within 30 s
}

var readyLine = regexp.MustCompile(`kubelite is ready; use it with: export KUBECONFIG=(\S+)`)

// startProc starts bin with args in its own process group, its output going to
// logPath. When watch is non-nil, the first submatch of the first output line
// matching it is sent on the returned channel.
func startProc(name, bin string, args []string, logPath string, watch *regexp.Regexp) (*proc, <-chan string, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	ready := make(chan string, 1)
	var copied sync.WaitGroup
	copied.Add(1)
	go func() { // copy the output to the log, watching for the ready line
		defer copied.Done()
		defer logFile.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
			if watch == nil {
				continue
			}
			if m := watch.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		io.Copy(logFile, pr) // a line too long for the scanner: keep the rest anyway
	}()
	go func() {
		p.waitErr = cmd.Wait()
		pw.Close()
		copied.Wait()
		close(p.done)
	}()
	return p, ready, nil
}

// exited reports whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// stop sends SIGTERM, then SIGKILL to the process group after 30 s, and
// returns how the process ended.
func (p *proc) stop() error {
	select {
	case <-p.done:
		return p.waitErr
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		p.termed = true
	case <-time.After(30 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.waitErr = errors.New("did not stop within 30 s of SIGTERM; killed")
	}
	return p.waitErr
}

// startKubelite starts `kubelite server` on a new data dir and free ports, with
// its output in logPath, and waits until it says it is ready.
func startKubelite(ctx context.Context, bin, logPath string, extraFlags []string, keep bool, readyTimeout time.Duration) (*Cluster, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("kubelite binary: %w (run `make build`, or set KUBELITE_BIN)", err)
	}
	dataDir, err := os.MkdirTemp("", "kubelite-conformance-")
	if err != nil {
		return nil, err
	}
	args := []string{"server", "--data-dir", filepath.Join(dataDir, "data"), "--bind-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-client-port", "0", "--etcd-peer-port", "0",
		// No local node (the server's default as root with containerd):
		// RESULTS.md is measured without one; KUBELITE_FLAGS may add it.
		"--local-node="}
	args = append(args, extraFlags...)
	p, ready, err := startProc("kubelite", bin, args, logPath, readyLine)
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	c := &Cluster{Kind: "kubelite", procs: []*proc{p}, dataDir: dataDir, keep: keep}

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case kc := <-ready:
		c.Kubeconfig = kc
		c.Describe = fmt.Sprintf("kubelite (%s) started by the runner, data dir %s", bin, dataDir)
		return c, nil
	case <-p.done:
		c.cleanup()
		return nil, fmt.Errorf("kubelite exited before it was ready (%v); last lines of %s:\n%s", p.waitErr, logPath, tail(logPath, 30))
	case <-timer.C:
		c.Stop()
		return nil, fmt.Errorf("kubelite not ready after %s; last lines of %s:\n%s", readyTimeout, logPath, tail(logPath, 30))
	case <-ctx.Done():
		c.Stop()
		return nil, ctx.Err()
	}
}

// started reports whether this run started the cluster's servers (rather than
// being given an existing cluster).
func (c *Cluster) started() bool { return len(c.procs) > 0 }

// Exited reports whether a server this run started has stopped, and how (for
// a cluster of several processes, the first one found ended, named).
func (c *Cluster) Exited() (bool, error) {
	for _, p := range c.procs {
		if exited, err := p.exited(); exited {
			if len(c.procs) > 1 {
				return true, fmt.Errorf("%s: %s", p.name, exitText(err))
			}
			return true, err
		}
	}
	return false, nil
}

// Stop stops the servers this run started, last started first: SIGTERM, then
// SIGKILL to each one's process group after 30 s. It returns how they ended
// when that is news (not a plain exit or the SIGTERM sent).
func (c *Cluster) Stop() error {
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		err := p.stop()
		var ee *exec.ExitError
		if c.anyExit && p.termed && errors.As(err, &ee) {
			err = nil
		}
		if err != nil && !isSignalExit(err) {
			if len(c.procs) > 1 {
				err = fmt.Errorf("%s: %w", p.name, err)
			}
			errs = append(errs, err)
		}
	}
	c.cleanup()
	return errors.Join(errs...)
}

func (c *Cluster) cleanup() {
	if !c.keep && c.dataDir != "" {
		os.RemoveAll(c.dataDir)
	}
}

var serverLine = regexp.MustCompile(`(?m)^\s*server:\s*https?://([^\s/]+)`)

// reachable reports whether the API server of a kubeconfig accepts TCP
// connections (within 2 s).
func reachable(kubeconfig string) bool {
	b, err := os.ReadFile(kubeconfig)
	if err != nil {
		return false
	}
	m := serverLine.FindSubmatch(b)
	if m == nil {
		return true // not a form this understands: assume it is there
	}
	conn, err := net.DialTimeout("tcp", string(m[1]), 2*time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// readyNodes counts the nodes whose Ready condition is True.
func readyNodes(ctx context.Context, kubectl, kubeconfig string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "nodes", "-o", "json").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("kubectl get nodes: %v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return 0, fmt.Errorf("kubectl get nodes: %v", err)
	}
	var list struct {
		Items []struct {
			Status struct {
				Conditions []struct{ Type, Status string }
			}
		}
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return 0, fmt.Errorf("kubectl get nodes: %v", err)
	}
	n := 0
	for _, item := range list.Items {
		for _, cond := range item.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				n++
			}
		}
	}
	return n, nil
}

// tail returns the last n lines of a file, indented.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
