package containerd

import (
	"context"
	"io"
	"sync"

	containerd "github.com/containerd/containerd/v2/client"
)

// stdinPipe is the stdin of a container whose spec asks for one (stdin:
// true): the task's IO copies the pipe into the process's stdin FIFO, and
// attach sessions write into the pipe. It stays open across sessions, as
// upstream's, unless once (stdinOnce): then the end of the first session's
// stdin closes the process's.
type stdinPipe struct {
	r    *io.PipeReader
	w    *io.PipeWriter
	once bool

	mu     sync.Mutex
	used   bool // a session has written (once: no other may)
	closed bool
}

func newStdinPipe(once bool) *stdinPipe {
	r, w := io.Pipe()
	return &stdinPipe{r: r, w: w, once: once}
}

// copyFrom writes a session's stdin to the process until the session's
// stdin ends or the pipe is closed; with once, that end closes the
// process's stdin through task. Only the first session of a once pipe
// writes.
func (p *stdinPipe) copyFrom(ctx context.Context, task containerd.Task, in io.Reader) {
	p.mu.Lock()
	skip := p.once && p.used || p.closed
	p.used = true
	p.mu.Unlock()
	if skip {
		return
	}
	_, _ = io.Copy(p.w, in)
	if p.once {
		p.close()
		_ = task.CloseIO(ctx, containerd.WithStdinCloser)
	}
}

// close ends the pipe: the task's IO reads its end and closes the FIFO,
// and writers fail.
func (p *stdinPipe) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.w.Close()
		p.r.Close()
	}
}

// stdinLabel is the label value that records a container's stdin: "once"
// or "open"; none when it has no stdin.
func stdinLabel(stdin, once bool) string {
	switch {
	case !stdin:
		return ""
	case once:
		return "once"
	}
	return "open"
}

// labelStdin is a container's stdin (stdinLabel), for restore.
const labelStdin = labelPrefix + "stdin"

// reader is what the task's IO copies into the process's stdin; nil (no
// stdin FIFO) for no pipe.
func (p *stdinPipe) reader() io.Reader {
	if p == nil {
		return nil
	}
	return p.r
}
