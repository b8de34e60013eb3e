package suite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	k8stypes "k8s.io/apimachinery/pkg/types"
	utilexec "k8s.io/utils/exec"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// logs returns what Logs writes for container id with opts.
func (h *harness) logs(id string, opts runtime.LogOptions) string {
	h.t.Helper()
	var b bytes.Buffer
	if err := h.rt.Logs(h.ctx, id, opts, &b); err != nil {
		h.t.Fatalf("Logs(%s, %+v): %v", id, opts, err)
	}
	return b.String()
}

// running waits until container id runs.
func (h *harness) running(uid, id string) {
	h.t.Helper()
	h.waitFor(k8stypes.UID(uid), "container running", func(s *runtime.PodStatus) bool {
		c := container(s, id)
		return c != nil && c.State == runtime.StateRunning
	})
}

func testLogs(h *harness) {
	pod := h.newPod("logs")
	pod.Spec.Containers = append(pod.Spec.Containers, h.opts.Logging(pod, "log", []string{"one", "two", "three"}))
	h.runSandbox(pod)
	id, _ := h.start(pod, &pod.Spec.Containers[0], 0)
	h.running(string(pod.UID), id)
	all := runtime.LogOptions{TailLines: -1}
	deadline := time.Now().Add(h.opts.Timeout)
	for h.logs(id, all) != "one\ntwo\nthree\n" {
		if time.Now().After(deadline) {
			h.t.Fatalf("Logs = %q, want the three lines", h.logs(id, all))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := h.logs(id, runtime.LogOptions{TailLines: 2}); got != "two\nthree\n" {
		h.t.Errorf("Logs tail 2 = %q, want the last two lines", got)
	}
	if got := h.logs(id, runtime.LogOptions{TailLines: -1, Since: time.Now().Add(time.Hour)}); got != "" {
		h.t.Errorf("Logs since an hour from now = %q, want nothing", got)
	}
	if got := h.logs(id, runtime.LogOptions{TailLines: -1, Stream: "Stderr"}); got != "" {
		h.t.Errorf("Logs of stderr = %q, want nothing", got)
	}
	for _, line := range strings.Split(strings.TrimSuffix(h.logs(id, runtime.LogOptions{TailLines: -1, Timestamps: true}), "\n"), "\n") {
		ts, text, _ := strings.Cut(line, " ")
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || time.Since(at) > time.Hour || (text != "one" && text != "two" && text != "three") {
			h.t.Errorf("Logs with timestamps: line %q, want a recent RFC 3339 time and the line", line)
		}
	}
	// A followed log of a running container goes on until ctx ends.
	ctx, cancel := context.WithTimeout(h.ctx, 300*time.Millisecond)
	defer cancel()
	var b bytes.Buffer
	start := time.Now()
	if err := h.rt.Logs(ctx, id, runtime.LogOptions{TailLines: 1, Follow: true}, &b); err != nil {
		h.t.Errorf("Logs follow: %v", err)
	}
	if b.String() != "three\n" || time.Since(start) < 250*time.Millisecond {
		h.t.Errorf("Logs follow tail 1 = %q after %v, want the last line until ctx ended", b.String(), time.Since(start))
	}
	// A followed log of a container that exits ends with it.
	done := make(chan error, 1)
	go func() { done <- h.rt.Logs(h.ctx, id, runtime.LogOptions{TailLines: 0, Follow: true}, io.Discard) }()
	if err := h.rt.StopContainer(h.ctx, pod, id, time.Second); err != nil {
		h.t.Fatalf("StopContainer: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			h.t.Errorf("Logs follow of an exiting container: %v", err)
		}
	case <-time.After(h.opts.Timeout):
		h.t.Error("Logs follow did not end when the container exited")
	}
}

// syncBuffer is a bytes.Buffer for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Close() error { return nil }

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testExec(h *harness) {
	pod := h.newPod("exec")
	c := h.addRunning(pod, "main")
	h.runSandbox(pod)
	id, _ := h.start(pod, c, 0)
	h.running(string(pod.UID), id)
	run := func(cmd []string, stdin string) (string, string, error) {
		var out, errOut syncBuffer
		s := runtime.Streams{Stdout: &out, Stderr: &errOut}
		if stdin != "" {
			s.Stdin = strings.NewReader(stdin)
		}
		ctx, cancel := context.WithTimeout(h.ctx, h.opts.Timeout)
		defer cancel()
		err := h.rt.Exec(ctx, id, cmd, s)
		return out.String(), errOut.String(), err
	}
	if out, _, err := run([]string{"echo", "hello", "there"}, ""); err != nil || out != "hello there\n" {
		h.t.Errorf("Exec echo = %q, %v; want %q", out, err, "hello there\n")
	}
	if out, _, err := run([]string{"cat"}, "from stdin\n"); err != nil || out != "from stdin\n" {
		h.t.Errorf("Exec cat = %q, %v; want its stdin back", out, err)
	}
	var exit utilexec.ExitError
	if _, _, err := run([]string{"sh", "-c", "exit 3"}, ""); !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		h.t.Errorf("Exec sh -c 'exit 3' = %v, want an ExitError with code 3", err)
	}
	if _, _, err := run([]string{"kubelite-no-such-command"}, ""); !errors.As(err, &exit) || (exit.ExitStatus() != 126 && exit.ExitStatus() != 127) {
		h.t.Errorf("Exec of a missing command = %v, want an ExitError with code 126 or 127", err)
	}
	if err := h.rt.StopContainer(h.ctx, pod, id, time.Second); err != nil {
		h.t.Fatalf("StopContainer: %v", err)
	}
	h.waitFor(pod.UID, "container exited", exited(id))
	if _, _, err := run([]string{"true"}, ""); err == nil || errors.As(err, &exit) {
		h.t.Errorf("Exec in an exited container = %v, want an error", err)
	}
}

func testPortForward(h *harness) {
	pod := h.newPod("portforward")
	const port = 8080
	pod.Spec.Containers = append(pod.Spec.Containers, h.opts.EchoServer(pod, "echo", port))
	h.runSandbox(pod)
	id, _ := h.start(pod, &pod.Spec.Containers[0], 0)
	h.running(string(pod.UID), id)
	var got string
	deadline := time.Now().Add(h.opts.Timeout)
	for {
		// Two ends of a pipe: the test's and the runtime's stream.
		mine, theirs := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- h.rt.PortForward(h.ctx, pod.UID, port, theirs) }()
		_ = mine.SetDeadline(time.Now().Add(5 * time.Second))
		_, werr := mine.Write([]byte("ping\n"))
		buf := make([]byte, 5)
		_, rerr := io.ReadFull(mine, buf)
		mine.Close()
		ferr := <-done
		if got = string(buf); werr == nil && rerr == nil && got == "ping\n" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("port-forwarded echo = %q (write %v, read %v, PortForward %v), want ping; container %s logged %q", got, werr, rerr, ferr, describe(h.status(pod.UID)), h.logs(id, runtime.LogOptions{TailLines: -1}))
		}
		time.Sleep(100 * time.Millisecond) // the server may not listen yet
	}
}

// testAttach: attaching to a running container lasts until it exits.
func testAttach(h *harness) {
	pod := h.newPod("attach")
	c := h.addExiting(pod, "main", 0, time.Second)
	h.runSandbox(pod)
	id, _ := h.start(pod, c, 0)
	h.running(string(pod.UID), id)
	done := make(chan error, 1)
	var out syncBuffer
	go func() { done <- h.rt.Attach(h.ctx, id, runtime.Streams{Stdout: &out, Stderr: &out}) }()
	select {
	case err := <-done:
		if s := h.status(pod.UID); container(s, id).State == runtime.StateRunning {
			h.t.Fatalf("Attach returned (%v) while the container runs", err)
		}
	case <-time.After(h.opts.Timeout):
		h.t.Fatal("Attach did not return once the container exited")
	}
}
