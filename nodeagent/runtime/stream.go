package runtime

import (
	"context"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Streamer is what `kubectl logs`, `exec`, `attach` and `port-forward` ask of
// a runtime, through the node agent's endpoint. Every Runtime is one.
type Streamer interface {
	// Logs writes the log of container id to w, one line per log line (the
	// runtime's timestamp first if opts.Timestamps), until the end of the
	// log; with opts.Follow, then what follows until the container exits
	// or ctx ends.
	Logs(ctx context.Context, id string, opts LogOptions, w io.Writer) error
	// Exec runs cmd in running container id with streams, until it exits or
	// ctx ends. A command that exits with a code other than 0 returns a
	// k8s.io/utils/exec.ExitError with that code.
	Exec(ctx context.Context, id string, cmd []string, streams Streams) error
	// Attach connects streams to the main process of running container id
	// until it exits, the streams end or ctx ends.
	Attach(ctx context.Context, id string, streams Streams) error
	// PortForward copies between stream and port of the pod's network
	// namespace (127.0.0.1 there) until either side closes.
	PortForward(ctx context.Context, uid types.UID, port int32, stream io.ReadWriteCloser) error
}

// LogOptions select the part of a log Logs writes.
type LogOptions struct {
	// Follow keeps writing what the container logs until it exits.
	Follow bool
	// Timestamps starts each line with its RFC 3339 time (nanoseconds).
	Timestamps bool
	// TailLines, if not negative, writes only the last TailLines lines of
	// the log as it is now. Negative: all.
	TailLines int64
	// Since skips lines logged before it. Zero: none.
	Since time.Time
	// Stream is "Stdout" or "Stderr" for that stream alone. Empty or "All":
	// both.
	Stream string
}

// Streams are the ends of an exec or attach session. Nil ones are not used.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.WriteCloser
	// TTY runs the process with a terminal; Stderr is then unused.
	TTY bool
	// Resize brings the terminal's size when it changes (TTY only).
	Resize <-chan TerminalSize
}

// TerminalSize is the width and height of a terminal, in characters.
type TerminalSize struct {
	Width, Height uint16
}
