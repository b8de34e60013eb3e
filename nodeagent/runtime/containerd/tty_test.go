package containerd_test

import (
	"bytes"
	"io"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// TestAttachTTY: a container with tty and stdin (as `kubectl run -it`
// makes) runs a shell on a terminal; an attach session sees its prompt,
// which ends with no newline, as it comes; what it types reaches the shell,
// and the terminal takes the session's size.
func TestAttachTTY(t *testing.T) {
	r, _ := newRuntimeDir(t)
	pod := testPod("tty", corev1.Container{Name: "main", Command: []string{"sh"}, Stdin: true, StdinOnce: true, TTY: true})
	ids := run(t, r, pod)

	inR, inW := io.Pipe()
	defer inW.Close()
	var buf bytes.Buffer
	out := &lockedBuffer{b: &buf}
	sizes := make(chan runtime.TerminalSize, 1)
	sizes <- runtime.TerminalSize{Width: 123, Height: 45}
	done := make(chan error, 1)
	go func() {
		done <- r.Attach(t.Context(), ids[0], runtime.Streams{Stdin: inR, Stdout: nopCloser{out}, TTY: true, Resize: sizes})
	}()
	// The shell reads its input on the terminal, so it prompts; the prompt
	// has no newline after it.
	if _, err := io.WriteString(inW, "\n"); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &buf, regexp.MustCompile(`\n/ # `))
	if _, err := io.WriteString(inW, "echo sum=$((40+2)); stty size\n"); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &buf, regexp.MustCompile(`sum=42\r\n45 123\r\n`))
	if _, err := io.WriteString(inW, "exit\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Attach = %v after the shell exited", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Attach did not return once the shell exited")
	}
	if c := waitExited(t, r, pod.UID, ids[0]); c.ExitCode != 0 {
		t.Errorf("shell exited with %d, want 0", c.ExitCode)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func waitOutput(t *testing.T, out *bytes.Buffer, want *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !want.MatchString(syncString(out)) {
		if time.Now().After(deadline) {
			t.Fatalf("attached terminal printed %q, want a match of %q", syncString(out), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
