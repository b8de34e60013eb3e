package containerd

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxLogLine is the longest log line written whole; longer ones are split
// into partial ("P") lines, as containerd's CRI does.
const maxLogLine = 16 * 1024

// logFile is one container attempt's log in the CRI format:
// "<RFC 3339 nano time> <stream> <F|P> <content>\n".
type logFile struct {
	mu      sync.Mutex
	f       *os.File
	streams []*logStream
}

func openLog(path string) (*logFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &logFile{f: f}, nil
}

// stream returns the writer of one of the container's streams ("stdout",
// "stderr").
func (l *logFile) stream(name string) *logStream {
	s := &logStream{file: l, name: name}
	l.mu.Lock()
	l.streams = append(l.streams, s)
	l.mu.Unlock()
	return s
}

// Close writes what is left of an unfinished line as a whole one, then
// closes the file.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	for _, s := range l.streams {
		if len(s.buf) > 0 {
			l.writeLocked(s.name, "F", s.buf)
			s.buf = nil
		}
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func (l *logFile) writeLocked(stream, tag string, content []byte) {
	if l.f == nil {
		return
	}
	line := make([]byte, 0, len(content)+64)
	line = time.Now().UTC().AppendFormat(line, time.RFC3339Nano)
	line = append(line, ' ')
	line = append(line, stream...)
	line = append(line, ' ')
	line = append(line, tag...)
	line = append(line, ' ')
	line = append(line, content...)
	line = append(line, '\n')
	_, _ = l.f.Write(line)
}

// logStream cuts one stream's output into lines.
type logStream struct {
	file *logFile
	name string
	buf  []byte // an unfinished line; guarded by file.mu
}

func (s *logStream) Write(p []byte) (int, error) {
	l := s.file
	l.mu.Lock()
	defer l.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i >= 0 && i <= maxLogLine {
			l.writeLocked(s.name, "F", s.buf[:i])
			s.buf = s.buf[i+1:]
		} else if len(s.buf) > maxLogLine {
			l.writeLocked(s.name, "P", s.buf[:maxLogLine])
			s.buf = s.buf[maxLogLine:]
		} else {
			break
		}
	}
	if len(s.buf) == 0 {
		s.buf = nil
	}
	return len(p), nil
}

func removeLog(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}
