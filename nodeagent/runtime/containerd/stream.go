package containerd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"k8s.io/apimachinery/pkg/types"
	utilexec "k8s.io/utils/exec"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// followPoll is how often a followed log looks for more lines.
const followPoll = 200 * time.Millisecond

// criLine is one whole line of a CRI-format log file; P (partial) lines are
// joined to the line they continue.
type criLine struct {
	at      time.Time
	stream  string
	content []byte
}

// criReader reads a CRI log file line by line, across writes that are still
// to come.
type criReader struct {
	r       *bufio.Reader
	pending []byte // an unfinished file line, read before its newline
	partial []byte // content of P lines waiting for their F line
}

// next returns the next whole line, or io.EOF when the file has none more yet.
func (cr *criReader) next() (criLine, error) {
	for {
		chunk, err := cr.r.ReadBytes('\n')
		cr.pending = append(cr.pending, chunk...)
		if err != nil {
			return criLine{}, err
		}
		raw := bytes.TrimSuffix(cr.pending, []byte{'\n'})
		cr.pending = nil
		parts := bytes.SplitN(raw, []byte{' '}, 4)
		if len(parts) < 4 {
			continue // not a CRI line
		}
		at, err := time.Parse(time.RFC3339Nano, string(parts[0]))
		if err != nil {
			continue
		}
		cr.partial = append(cr.partial, parts[3]...)
		if string(parts[2]) == "P" {
			continue
		}
		l := criLine{at: at, stream: string(parts[1]), content: cr.partial}
		cr.partial = nil
		return l, nil
	}
}

// logTarget returns container id's log file and whether it still runs.
func (r *Runtime) logTarget(id string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ct := r.containers[id]
	if ct == nil {
		return "", false, fmt.Errorf("container %s not found", id)
	}
	return ct.logPath, ct.State == runtime.StateRunning || ct.State == runtime.StateCreated, nil
}

// Logs reads the container's CRI log file.
func (r *Runtime) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	return r.readLog(ctx, id, opts, func(l criLine) error {
		var b []byte
		if opts.Timestamps {
			b = l.at.UTC().AppendFormat(b, time.RFC3339Nano)
			b = append(b, ' ')
		}
		b = append(append(b, l.content...), '\n')
		_, err := w.Write(b)
		return err
	})
}

// readLog calls emit with the lines of container id's log that opts select.
func (r *Runtime) readLog(ctx context.Context, id string, opts runtime.LogOptions, emit func(criLine) error) error {
	path, running, err := r.logTarget(id)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	keep := func(l criLine) bool {
		return (opts.Since.IsZero() || !l.at.Before(opts.Since)) &&
			(opts.Stream == "" || opts.Stream == "All" || strings.EqualFold(opts.Stream, l.stream))
	}
	cr := &criReader{r: bufio.NewReader(f)}
	// What the file holds now: all of it, or its last TailLines lines.
	var tail []criLine
	for {
		l, err := cr.next()
		if err != nil {
			break
		}
		if !keep(l) {
			continue
		}
		if opts.TailLines < 0 {
			if err := emit(l); err != nil {
				return err
			}
			continue
		}
		if opts.TailLines == 0 {
			continue
		}
		if int64(len(tail)) == opts.TailLines {
			tail = tail[1:]
		}
		tail = append(tail, l)
	}
	for _, l := range tail {
		if err := emit(l); err != nil {
			return err
		}
	}
	if !opts.Follow {
		return nil
	}
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for {
		for {
			l, err := cr.next()
			if err != nil {
				break
			}
			if keep(l) {
				if err := emit(l); err != nil {
					return err
				}
			}
		}
		if !running {
			return nil // the last read after the exit found the rest
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, running, err = r.logTarget(id); err != nil {
			return nil
		}
	}
}

// runningTask returns the task of container id if it runs.
func (r *Runtime) runningTask(ctx context.Context, id string) (containerd.Task, error) {
	r.mu.Lock()
	ct := r.containers[id]
	running := ct != nil && ct.State == runtime.StateRunning
	r.mu.Unlock()
	if !running {
		return nil, fmt.Errorf("container %s is not running", id)
	}
	task, err := r.task(ctx, ct)
	if err != nil {
		return nil, err
	}
	if task == nil {
		return nil, fmt.Errorf("container %s is not running", id)
	}
	return task, nil
}

// Exec runs cmd in the container with the process settings of its main
// process (user, environment, working directory, capabilities).
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string, s runtime.Streams) error {
	ctx = r.nsctx(ctx)
	task, err := r.runningTask(ctx, id)
	if err != nil {
		return err
	}
	obj, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return err
	}
	spec, err := obj.Spec(ctx)
	if err != nil {
		return err
	}
	pspec := *spec.Process
	pspec.Args, pspec.Terminal = cmd, s.TTY
	// The process sees its stdin end when the client's does.
	var stdin io.Reader
	eof := make(chan struct{})
	if s.Stdin != nil {
		stdin = &eofReader{r: s.Stdin, eof: eof}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, orDiscard(s.Stdout), orDiscard(s.Stderr)), cio.WithFIFODir(r.fifoDir())}
	if s.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	proc, err := task.Exec(ctx, "exec-"+newID()[:16], &pspec, cio.NewCreator(opts...))
	if err != nil {
		return fmt.Errorf("exec in %s: %w", id, err)
	}
	defer proc.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
	wait, err := proc.Wait(ctx)
	if err != nil {
		return err
	}
	if err := proc.Start(ctx); err != nil {
		// As runc reports an executable it cannot find or run.
		return utilexec.CodeExitError{Err: fmt.Errorf("exec %q: %w", cmd, err), Code: 126}
	}
	go resize(ctx, s.Resize, proc.Resize)
	go func() {
		select {
		case <-eof:
			_ = proc.CloseIO(ctx, containerd.WithStdinCloser)
		case <-ctx.Done():
		}
	}()
	select {
	case es := <-wait:
		code, _, err := es.Result()
		if err != nil {
			return err
		}
		proc.IO().Wait()
		if code != 0 {
			return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: int(code)}
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resize passes terminal sizes to fn until sizes or ctx ends.
func resize(ctx context.Context, sizes <-chan runtime.TerminalSize, fn func(context.Context, uint32, uint32) error) {
	if sizes == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case sz, ok := <-sizes:
			if !ok {
				return
			}
			_ = fn(ctx, uint32(sz.Width), uint32(sz.Height))
		}
	}
}

// eofReader closes eof when its reader ends.
type eofReader struct {
	r    io.Reader
	eof  chan struct{}
	once bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !e.once {
		e.once = true
		close(e.eof)
	}
	return n, err
}

func orDiscard(w io.WriteCloser) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// Attach streams what the container writes from now on, each stream to its
// own, as it comes, until the container's output ends (it exited), a
// writer fails or ctx ends. s.Stdin reaches the process of a container with
// stdin (stdinPipe); without one it is not read. With s.TTY the container's
// terminal (tty: true) follows s.Resize.
func (r *Runtime) Attach(ctx context.Context, id string, s runtime.Streams) error {
	nctx := r.nsctx(ctx)
	task, err := r.runningTask(nctx, id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	ct := r.containers[id]
	r.mu.Unlock()
	if ct == nil || ct.stdout == nil {
		return fmt.Errorf("container %s: its output is not attached to this runtime", id)
	}
	// The stdout session also says when the output ends, so it is made
	// even when the client does not read stdout.
	var out io.Writer = io.Discard
	if s.Stdout != nil {
		out = s.Stdout
	}
	ended, detach := ct.stdout.attach(out)
	defer detach()
	var errEnded <-chan struct{}
	if s.Stderr != nil && !s.TTY {
		var detachErr func()
		errEnded, detachErr = ct.stderr.attach(s.Stderr)
		defer detachErr()
	}
	// Subscribed first, so the process's answer to this input is seen.
	if ct.stdin != nil && s.Stdin != nil {
		go ct.stdin.copyFrom(context.WithoutCancel(nctx), task, s.Stdin)
	}
	if s.TTY {
		go resize(nctx, s.Resize, task.Resize)
	}
	select {
	case <-ended:
	case <-errEnded:
	case <-ctx.Done():
	}
	return nil
}

// PortForward dials 127.0.0.1:port inside the pod's network namespace and
// copies between that connection and stream.
func (r *Runtime) PortForward(ctx context.Context, uid types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	r.mu.Lock()
	var sb *sandbox
	if p := r.pods[uid]; p != nil {
		sb = p.current()
	}
	ready := sb != nil && sb.Ready
	nsPath := ""
	if ready && !sb.hostNetwork {
		nsPath = filepath.Join(r.podDir(uid), sb.ID, "ns", "net")
	}
	r.mu.Unlock()
	if !ready {
		return fmt.Errorf("pod %s has no running sandbox", uid)
	}
	conn, err := dialIn(ctx, nsPath, "tcp4", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		return fmt.Errorf("port forward to port %d of pod %s: %w", port, uid, err)
	}
	defer conn.Close()
	done := make(chan error, 2)
	go func() { _, err := io.Copy(conn, stream); done <- err }()
	go func() { _, err := io.Copy(stream, conn); done <- err }()
	select {
	case err = <-done:
	case <-ctx.Done():
	}
	return err
}
