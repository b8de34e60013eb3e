package containerd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// maxProbeOutput is how much of a probe's output its message keeps.
const maxProbeOutput = 10 * 1024

// Probe runs an exec probe in container id, or an httpGet, tcpSocket or
// gRPC probe against its pod from inside the pod's network namespace.
func (r *Runtime) Probe(ctx context.Context, pod *corev1.Pod, id string, probe *corev1.Probe) (runtime.ProbeResult, string, error) {
	if probe == nil || (probe.Exec == nil && probe.HTTPGet == nil && probe.TCPSocket == nil && probe.GRPC == nil) {
		return runtime.ProbeUnknown, "", errors.New("probe has no action")
	}
	timeout := time.Duration(probe.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(r.nsctx(ctx), timeout)
	defer cancel()
	if probe.GRPC != nil {
		return r.grpcProbe(ctx, pod, id, probe.GRPC)
	}
	if probe.Exec == nil {
		return r.netProbe(ctx, pod, id, probe)
	}
	return r.exec(ctx, id, probe.Exec.Command)
}

// exec runs cmd in container id until it exits or ctx ends: success if it
// exits 0, failure otherwise (and on timeout), unknown if the container
// does not run.
func (r *Runtime) exec(ctx context.Context, id string, cmd []string) (runtime.ProbeResult, string, error) {
	r.mu.Lock()
	ct := r.containers[id]
	running := ct != nil && ct.State == runtime.StateRunning
	r.mu.Unlock()
	if !running {
		return runtime.ProbeUnknown, "container is not running", nil
	}
	task, err := r.task(ctx, ct)
	if err != nil || task == nil {
		return runtime.ProbeUnknown, "container is not running", err
	}
	obj, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return runtime.ProbeUnknown, "", err
	}
	spec, err := obj.Spec(ctx)
	if err != nil {
		return runtime.ProbeUnknown, "", err
	}
	pspec := *spec.Process
	pspec.Args, pspec.Terminal = cmd, false
	var out limitedBuffer
	proc, err := task.Exec(ctx, "exec-"+newID()[:16], &pspec, cio.NewCreator(cio.WithStreams(nil, &out, &out), cio.WithFIFODir(r.fifoDir())))
	if err != nil {
		return runtime.ProbeUnknown, "", fmt.Errorf("exec in %s: %w", id, err)
	}
	defer proc.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
	wait, err := proc.Wait(ctx)
	if err != nil {
		return runtime.ProbeUnknown, "", err
	}
	if err := proc.Start(ctx); err != nil {
		return runtime.ProbeFailure, err.Error(), nil
	}
	select {
	case es := <-wait:
		code, _, err := es.Result()
		if err != nil {
			return runtime.ProbeFailure, err.Error(), nil
		}
		proc.IO().Wait()
		if code != 0 {
			return runtime.ProbeFailure, fmt.Sprintf("command %q exited with %d: %s", cmd, code, out.String()), nil
		}
		return runtime.ProbeSuccess, out.String(), nil
	case <-ctx.Done():
		return runtime.ProbeFailure, fmt.Sprintf("command %q timed out", cmd), nil
	}
}

// limitedBuffer keeps the first maxProbeOutput bytes written to it, from
// any goroutine.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxProbeOutput - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
