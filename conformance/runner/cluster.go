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

// Cluster is the cluster under test: a kubelite server this run started, or
// an existing cluster reached through a kubeconfig.
type Cluster struct {
	Kubeconfig string
	Describe   string // one line for the report: what was tested

	cmd     *exec.Cmd
	dataDir string
	keep    bool
	stopped bool
	done    chan struct{} // closed when the server process has exited
	waitErr error
}

var readyLine = regexp.MustCompile(`kubelite is ready; use it with: export KUBECONFIG=(\S+)`)

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
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	args := []string{"server", "--data-dir", filepath.Join(dataDir, "data"), "--bind-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-client-port", "0", "--etcd-peer-port", "0"}
	args = append(args, extraFlags...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &Cluster{cmd: cmd, dataDir: dataDir, keep: keep, done: make(chan struct{})}
	ready := make(chan string, 1)
	var copied sync.WaitGroup
	copied.Add(1)
	go func() { // copy the server's output to its log, watching for the ready line
		defer copied.Done()
		defer logFile.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		io.Copy(logFile, pr) // a line too long for the scanner: keep the rest anyway
	}()
	go func() {
		c.waitErr = cmd.Wait()
		pw.Close()
		copied.Wait()
		close(c.done)
	}()

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case kc := <-ready:
		c.Kubeconfig = kc
		c.Describe = fmt.Sprintf("kubelite (%s) started by the runner, data dir %s", bin, dataDir)
		return c, nil
	case <-c.done:
		c.cleanup()
		return nil, fmt.Errorf("kubelite exited before it was ready (%v); last lines of %s:\n%s", c.waitErr, logPath, tail(logPath, 30))
	case <-timer.C:
		c.Stop()
		return nil, fmt.Errorf("kubelite not ready after %s; last lines of %s:\n%s", readyTimeout, logPath, tail(logPath, 30))
	case <-ctx.Done():
		c.Stop()
		return nil, ctx.Err()
	}
}

// Exited reports whether the server this run started has stopped, and how.
func (c *Cluster) Exited() (bool, error) {
	if c.cmd == nil {
		return false, nil
	}
	select {
	case <-c.done:
		return true, c.waitErr
	default:
		return false, nil
	}
}

// Stop stops a server this run started: SIGTERM, then SIGKILL to its process
// group after 30 s. It returns how the server ended.
func (c *Cluster) Stop() error {
	if c.cmd == nil {
		return nil
	}
	select {
	case <-c.done:
	default:
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
			c.waitErr = errors.New("did not stop within 30 s of SIGTERM; killed")
		}
	}
	c.cleanup()
	return c.waitErr
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
