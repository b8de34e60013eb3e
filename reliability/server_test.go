package reliability

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// binDir holds the kubelite binary built for the process tests, if any.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce  sync.Once
	builtBin   string
	buildError error
)

// kubeliteBin is the binary the process tests run: $KUBELITE_BIN, else one
// built from this tree into a temporary dir at the first call (with
// -trimpath, as `make build` does, so that the two share the build cache).
func kubeliteBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if bin := os.Getenv("KUBELITE_BIN"); bin != "" {
			builtBin, buildError = filepath.Abs(bin)
			return
		}
		if binDir, buildError = os.MkdirTemp("", "kubelite-reliability-"); buildError != nil {
			return
		}
		builtBin = filepath.Join(binDir, "kubelite")
		out, err := exec.Command("go", "build", "-trimpath", "-o", builtBin, "../cmd/kubelite").CombinedOutput()
		if err != nil {
			buildError = fmt.Errorf("build kubelite: %v\n%s", err, out)
		}
	})
	if buildError != nil {
		t.Fatal(buildError)
	}
	return builtBin
}

// process is a `kubelite server` process on a data dir and ports that stay
// the same across restarts, so that a client config stays valid.
type process struct {
	t       testing.TB
	dataDir string
	args    []string
	log     *os.File

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
}

// startProcess starts `kubelite server` alone (--local-node=, no containerd)
// with the extra flags and waits until it is ready. The test's end kills it.
func startProcess(t testing.TB, extra ...string) *process {
	t.Helper()
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, dataDir: filepath.Join(dir, "data"), log: log}
	p.args = append([]string{"server", "--data-dir", p.dataDir, "--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(freePort(t)),
		"--etcd-client-port", strconv.Itoa(freePort(t)), "--etcd-peer-port", strconv.Itoa(freePort(t)),
		"--local-node="}, extra...)
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.tailLog(40)
		}
		log.Close()
	})
	p.start()
	return p
}

// start runs the server and waits up to two minutes for it to say it is ready.
func (p *process) start() time.Duration {
	p.t.Helper()
	fmt.Fprintf(p.log, "==== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(kubeliteBin(p.t), p.args...)
	cmd.Stderr = p.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exit := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "kubelite is ready") {
				once.Do(func() { close(ready) })
			}
		}
		_ = cmd.Wait()
		close(exit)
	}()
	p.mu.Lock()
	p.cmd, p.exit = cmd, exit
	p.mu.Unlock()
	select {
	case <-ready:
		return time.Since(began)
	case <-exit:
		p.tailLog(40)
		p.t.Fatalf("kubelite exited before it was ready: %v", cmd.ProcessState)
	case <-time.After(2 * time.Minute):
		p.tailLog(40)
		p.t.Fatal("kubelite not ready after two minutes")
	}
	return 0
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	p.mu.Lock()
	cmd, exit := p.cmd, p.exit
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exit
	fmt.Fprintf(p.log, "==== killed %s\n", time.Now().Format(time.RFC3339Nano))
}

// exited reports whether the running process has exited by itself (crashed).
func (p *process) exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exit:
		return true
	default:
		return false
	}
}

// config is an admin client config for the server.
func (p *process) config() *rest.Config {
	p.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(p.dataDir, "kubeconfig"))
	if err != nil {
		p.t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

func (p *process) tailLog(n int) {
	data, err := os.ReadFile(p.log.Name())
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	p.t.Logf("last lines of the server's log:\n%s", strings.Join(lines, "\n"))
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// figure prints one of the suite's figures for the README.
func figure(t testing.TB, format string, args ...any) {
	t.Helper()
	line := "FIGURE " + fmt.Sprintf(format, args...)
	t.Log(line)
	fmt.Println(line)
}

// envInt reads a positive integer from the environment, or def.
func envInt(t testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
