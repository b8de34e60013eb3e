package simulated

import (
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	utilexec "k8s.io/utils/exec"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// LogAnnotationPrefix starts the pod annotation that sets what one container
// logs: "logs.sim.kubelite.io/<container name>". Each line of its value is a
// line on stdout when an attempt of the container starts. Without it an
// attempt logs a line when it starts and one when it exits, naming the
// container and the attempt.
const LogAnnotationPrefix = "logs.sim.kubelite.io/"

// followPoll is how often a followed log looks for the container's exit.
const followPoll = 100 * time.Millisecond

// logLine is one line of a simulated container's log.
type logLine struct {
	at     time.Time
	stream string
	text   string
}

// logLines returns the log of container id as it is now, and whether the
// container has exited (so that nothing more will come).
func (r *Runtime) logLines(id string) ([]logLine, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containers[id]
	if c == nil {
		return nil, true, fmt.Errorf("container %s: %w", id, errNotFound)
	}
	var lines []logLine
	if c.started != 0 {
		text := c.logText
		if text == "" {
			text = fmt.Sprintf("simulated container %s of pod %s/%s started (attempt %d)", c.name, c.pod.namespace, c.pod.name, c.attempt)
		}
		for l := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
			lines = append(lines, logLine{at: c.started.time(), stream: "stdout", text: l})
		}
	}
	if c.state == exited && c.logText == "" && c.started != 0 {
		lines = append(lines, logLine{at: c.finished.time(), stream: "stdout",
			text: fmt.Sprintf("simulated container %s exited with code %d (%s)", c.name, c.exitCode, c.reason)})
	}
	return lines, c.state == exited, nil
}

// errNotFound: no such container.
var errNotFound = fmt.Errorf("not found")

// Logs writes the container's simulated log: the lines its attempt logged
// when it started (LogAnnotationPrefix) and, by default, a line when it exited.
func (r *Runtime) Logs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	lines, done, err := r.logLines(id)
	if err != nil {
		return err
	}
	keep := func(l logLine) bool {
		return (opts.Since.IsZero() || !l.at.Before(opts.Since)) &&
			(opts.Stream == "" || opts.Stream == "All" || strings.EqualFold(opts.Stream, l.stream))
	}
	var out []logLine
	for _, l := range lines {
		if keep(l) {
			out = append(out, l)
		}
	}
	if opts.TailLines >= 0 && int64(len(out)) > opts.TailLines {
		out = out[int64(len(out))-opts.TailLines:]
	}
	write := func(ls []logLine) error {
		for _, l := range ls {
			if !keep(l) {
				continue
			}
			s := l.text + "\n"
			if opts.Timestamps {
				s = l.at.UTC().Format(time.RFC3339Nano) + " " + s
			}
			if _, err := io.WriteString(w, s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write(out); err != nil || !opts.Follow || done {
		return err
	}
	seen := len(lines)
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for !done {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if lines, done, err = r.logLines(id); err != nil {
			return nil // removed: the log ends
		}
		if len(lines) > seen {
			if err := write(lines[seen:]); err != nil {
				return err
			}
			seen = len(lines)
		}
	}
	return nil
}

// running returns container id if it runs.
func (r *Runtime) running(id string) (*container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containers[id]
	if c == nil {
		return nil, fmt.Errorf("container %s: %w", id, errNotFound)
	}
	if c.state != running {
		return nil, fmt.Errorf("container %s is not running", id)
	}
	return c, nil
}

// Exec runs no process: it interprets a few commands as a shell in the
// container would. "true", "false", "echo ARGS", "cat" (stdin to stdout),
// "hostname" (the pod's name), "sleep N", "tar -x" and "tar -c" (kubectl
// cp, on a small file system in memory per pod) and "sh -c SCRIPT", whose script is
// such commands separated by ";" or newlines, plus "exit N". Any other
// command fails as a missing one does: a message on stderr and exit code 127.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string, s runtime.Streams) error {
	c, err := r.running(id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if c.pod.files == nil {
		c.pod.files = &files{}
	}
	fs := c.pod.files
	r.mu.Unlock()
	code := interpret(ctx, shell{hostname: c.pod.name, files: fs}, cmd, s)
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// shell is what simulated commands see of their pod.
type shell struct {
	hostname string
	files    *files
}

// interpret runs one simulated command and returns its exit code.
func interpret(ctx context.Context, sh shell, argv []string, s runtime.Streams) int {
	if len(argv) == 0 {
		return 0
	}
	stdout, stderr := s.Stdout, s.Stderr
	if s.TTY {
		stderr = stdout
	}
	printf := func(w io.Writer, format string, args ...any) {
		if w != nil {
			fmt.Fprintf(w, format, args...)
		}
	}
	switch path.Base(argv[0]) {
	case "true":
		return 0
	case "false":
		return 1
	case "echo":
		printf(stdout, "%s\n", strings.Join(argv[1:], " "))
		return 0
	case "hostname":
		printf(stdout, "%s\n", sh.hostname)
		return 0
	case "cat":
		if len(argv) > 1 {
			printf(stderr, "cat: can't open '%s': No such file or directory\n", argv[1])
			return 1
		}
		if s.Stdin != nil && stdout != nil {
			_, _ = io.Copy(stdout, s.Stdin)
		}
		return 0
	case "sleep":
		d, err := strconv.ParseFloat(strings.Join(argv[1:], ""), 64)
		if err != nil {
			printf(stderr, "sleep: invalid number '%s'\n", strings.Join(argv[1:], " "))
			return 1
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(d * float64(time.Second))):
		}
		return 0
	case "tar":
		return sh.files.tarCmd(argv[1:], s.Stdin, stdout, stderr)
	case "sh", "bash", "ash":
		if len(argv) < 3 || argv[1] != "-c" {
			printf(stderr, "%s: only -c SCRIPT runs in a simulated container\n", argv[0])
			return 2
		}
		code := 0
		for line := range strings.FieldsFuncSeq(argv[2], func(r rune) bool { return r == ';' || r == '\n' }) {
			words := strings.Fields(line)
			if len(words) == 0 {
				continue
			}
			if words[0] == "exit" {
				if len(words) > 1 {
					n, err := strconv.Atoi(words[1])
					if err != nil {
						return 2
					}
					return n
				}
				return code
			}
			code = interpret(ctx, sh, words, s)
		}
		return code
	}
	printf(stderr, "exec: %q: executable file not found in $PATH\n", argv[0])
	return 127
}

// Attach connects to no process: it returns when the container exits or
// ctx ends, with nothing written.
func (r *Runtime) Attach(ctx context.Context, id string, _ runtime.Streams) error {
	if _, err := r.running(id); err != nil {
		return err
	}
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := r.running(id); err != nil {
			return nil
		}
	}
}

// PortForward serves an echo server on every port of a pod with a ready
// sandbox: what the stream sends comes back.
func (r *Runtime) PortForward(ctx context.Context, uid types.UID, port int32, stream io.ReadWriteCloser) error {
	r.mu.Lock()
	p := r.pods[uid]
	ready := p != nil && p.ready
	r.mu.Unlock()
	if !ready {
		return fmt.Errorf("pod %s has no running sandbox", uid)
	}
	defer stream.Close()
	_, err := io.Copy(stream, stream)
	return err
}
