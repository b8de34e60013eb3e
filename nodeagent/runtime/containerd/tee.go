package containerd

import (
	"io"
	"sync"
)

// outputTee is one stream of a container's output: what the process
// writes goes to the log and, as it comes (partial lines too: a shell's
// prompt ends with no newline), to the writers of attach sessions. A
// session that cannot keep up holds the container's output back, as
// upstream's attach does; one whose writer fails is dropped.
type outputTee struct {
	log io.Writer

	mu       sync.Mutex
	sessions map[*teeSession]struct{}
	closed   bool
}

type teeSession struct {
	w     io.Writer
	ended chan struct{}
}

func newOutputTee(log io.Writer) *outputTee {
	return &outputTee{log: log, sessions: map[*teeSession]struct{}{}}
}

func (t *outputTee) Write(p []byte) (int, error) {
	n, err := t.log.Write(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.sessions {
		if _, werr := s.w.Write(p); werr != nil {
			delete(t.sessions, s)
			close(s.ended)
		}
	}
	return n, err
}

// close ends every session: the process's output is all written.
func (t *outputTee) close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for s := range t.sessions {
		delete(t.sessions, s)
		close(s.ended)
	}
}

// attach sends what the stream writes from now on to w until detach is
// called. ended is closed when the stream has ended (close) or w failed.
// A nil tee (a container without the stream, such as stderr with a
// terminal) or a nil w sends nothing, and ends nothing.
func (t *outputTee) attach(w io.Writer) (ended <-chan struct{}, detach func()) {
	if t == nil || w == nil {
		return nil, func() {}
	}
	s := &teeSession{w: w, ended: make(chan struct{})}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		close(s.ended)
		return s.ended, func() {}
	}
	t.sessions[s] = struct{}{}
	return s.ended, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if _, ok := t.sessions[s]; ok {
			delete(t.sessions, s)
		}
	}
}
