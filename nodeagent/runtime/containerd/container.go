package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// StartContainer creates and starts attempt of c in the pod's ready
// sandbox; starting an attempt that exists returns its ID.
func (r *Runtime) StartContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt int) (_ string, retErr error) {
	ctx = r.nsctx(ctx)
	r.mu.Lock()
	p := r.pods[pod.UID]
	r.mu.Unlock()
	if p == nil {
		return "", fmt.Errorf("pod %s has no sandbox", pod.UID)
	}
	p.op.Lock()
	defer p.op.Unlock()
	r.mu.Lock()
	sb := p.current()
	for _, ct := range p.containers {
		if ct.Name == c.Name && ct.Attempt == attempt {
			r.mu.Unlock()
			return ct.ID, nil
		}
	}
	r.mu.Unlock()
	if sb == nil || !sb.Ready {
		return "", fmt.Errorf("pod %s has no ready sandbox", pod.UID)
	}
	ref, err := normalizeImage(c.Image)
	if err != nil {
		return "", err
	}
	img, err := r.client.GetImage(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", c.Image, err)
	}
	ct := &container{pod: p, sandboxID: sb.ID, Container: runtime.Container{
		ID: newID(), Name: c.Name, Attempt: attempt, Image: c.Image, ImageRef: imageRef(img), State: runtime.StateCreated, CreatedAt: time.Now(),
	}}
	ct.logPath = filepath.Join(r.podDir(pod.UID), "logs", c.Name, strconv.Itoa(attempt)+".log")
	specOpts, err := r.specOpts(ctx, pod, c, sb, img)
	if err != nil {
		return "", err
	}
	podOpts, err := r.containerOpts(ctx, pod, c, ct.ID, img)
	if err != nil {
		return "", err
	}
	specOpts = append(specOpts, podOpts...)
	labels := map[string]string{
		labelKind: kindContainer, labelPodUID: string(pod.UID), labelPodNS: pod.Namespace, labelPodName: pod.Name,
		labelSandbox: sb.ID, labelName: c.Name, labelAttempt: strconv.Itoa(attempt), labelImage: c.Image,
		labelImageRef: ct.ImageRef, labelCreated: formatTime(ct.CreatedAt), labelLog: ct.logPath,
		labelTermination: string(c.TerminationMessagePolicy),
	}
	if c.Stdin {
		labels[labelStdin] = stdinLabel(c.Stdin, c.StdinOnce)
		ct.stdin = newStdinPipe(c.StdinOnce)
	}
	obj, err := r.client.NewContainer(ctx, ct.ID,
		containerd.WithImage(img),
		containerd.WithSnapshotter(r.cfg.Snapshotter),
		containerd.WithNewSnapshot(ct.ID, img),
		containerd.WithNewSpec(specOpts...),
		containerd.WithContainerLabels(labels))
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", c.Name, err)
	}
	defer func() {
		if retErr != nil {
			_ = obj.Delete(context.WithoutCancel(ctx), containerd.WithSnapshotCleanup)
		}
	}()
	lf, err := openLog(ct.logPath)
	if err != nil {
		return "", err
	}
	ct.stdout, ct.stderr = newOutputTee(lf.stream("stdout")), newOutputTee(lf.stream("stderr"))
	task, err := obj.NewTask(ctx, r.logIO(ct, c.TTY))
	if err != nil {
		lf.Close()
		if ct.stdin != nil {
			ct.stdin.close()
		}
		return "", fmt.Errorf("create task of %s: %w", c.Name, err)
	}
	ct.task, ct.log = task, lf
	// Known before it starts, so that its exit event finds it (and waits
	// for p.op).
	r.mu.Lock()
	p.containers = append(p.containers, ct)
	r.containers[ct.ID] = ct
	r.mu.Unlock()
	if err := task.Start(ctx); err != nil {
		r.mu.Lock()
		p.containers = p.containers[:len(p.containers)-1]
		delete(r.containers, ct.ID)
		r.mu.Unlock()
		_, _ = task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		lf.Close()
		return "", fmt.Errorf("start %s: %w", c.Name, err)
	}
	started := time.Now()
	if _, err := obj.SetLabels(ctx, map[string]string{labelStarted: formatTime(started)}); err != nil {
		klog.FromContext(ctx).Error(err, "Record container start", "container", ct.ID)
	}
	r.mu.Lock()
	ct.StartedAt = started
	ct.State = runtime.StateRunning
	r.mu.Unlock()
	if err := r.postStart(ctx, pod, c, ct); err != nil {
		return "", err
	}
	return ct.ID, nil
}

// logIO is the IO of ct's new task: its stdout and stderr FIFOs are
// <Dir>/.fifo/<id>.{stdout,stderr}, copied into ct's output tees, and with
// a stdin pipe <id>.stdin, fed from ct's. Unlike cio.NewCreator's they stay
// when the IO closes, so that a restarted runtime attaches to them again
// (restore); finish removes them. With a terminal (tty: true) the process
// has one stream, stdout.
func (r *Runtime) logIO(ct *container, terminal bool) cio.Creator {
	attach := cio.NewAttach(cio.WithStreams(ct.stdin.reader(), ct.stdout, ct.stderr))
	return func(id string) (cio.IO, error) {
		dir := r.fifoDir()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		return attach(cio.NewFIFOSet(cio.Config{
			Stdin:    filepath.Join(dir, id+".stdin"),
			Stdout:   filepath.Join(dir, id+".stdout"),
			Stderr:   filepath.Join(dir, id+".stderr"),
			Terminal: terminal,
		}, nil))
	}
}

func (r *Runtime) fifoDir() string { return filepath.Join(r.cfg.Dir, ".fifo") }

func (r *Runtime) removeFIFOs(id string) {
	for _, s := range []string{".stdin", ".stdout", ".stderr"} {
		_ = os.Remove(filepath.Join(r.fifoDir(), id+s))
	}
}

// StopContainer runs c's exec preStop hook, then sends SIGTERM and, after
// grace, SIGKILL.
func (r *Runtime) StopContainer(ctx context.Context, pod *corev1.Pod, id string, grace time.Duration) error {
	ctx = r.nsctx(ctx)
	r.mu.Lock()
	ct := r.containers[id]
	r.mu.Unlock()
	if ct == nil {
		return nil
	}
	ct.pod.op.Lock()
	defer ct.pod.op.Unlock()
	if hook := preStop(pod, ct.Name); hook != nil && grace > 0 {
		start := time.Now()
		hctx, cancel := context.WithTimeout(ctx, grace)
		if err := r.runHook(hctx, pod, id, hook); err != nil {
			klog.FromContext(ctx).Info("PreStop hook failed", "container", id, "err", err)
		}
		cancel()
		grace = max(grace-time.Since(start), 0)
	}
	return r.stop(ctx, ct, grace)
}

func preStop(pod *corev1.Pod, name string) *corev1.LifecycleHandler {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if c.Name == name && c.Lifecycle != nil {
				return c.Lifecycle.PreStop
			}
		}
	}
	return nil
}

// stop ends ct's process: SIGTERM, SIGKILL after grace, and records the
// exit. The pod's op is held.
func (r *Runtime) stop(ctx context.Context, ct *container, grace time.Duration) error {
	r.mu.Lock()
	exited := ct.State == runtime.StateExited
	r.mu.Unlock()
	if exited {
		return nil
	}
	task, err := r.task(ctx, ct)
	if err != nil {
		return err
	}
	if task == nil {
		return r.finish(ctx, ct)
	}
	wait, err := task.Wait(ctx)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return r.finish(ctx, ct)
		}
		return fmt.Errorf("stop %s: %w", ct.Name, err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
		return fmt.Errorf("stop %s: %w", ct.Name, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-wait:
	case <-timer.C:
		if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
			return fmt.Errorf("kill %s: %w", ct.Name, err)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	return r.finish(ctx, ct)
}

// task returns ct's task: the one it started or adopted with its output,
// else the one containerd has, without; nil if there is none.
func (r *Runtime) task(ctx context.Context, ct *container) (containerd.Task, error) {
	r.mu.Lock()
	task := ct.task
	r.mu.Unlock()
	if task != nil {
		return task, nil
	}
	obj, err := r.client.LoadContainer(ctx, ct.ID)
	if err != nil {
		return nil, err
	}
	task, err = obj.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	return task, err
}

// exited handles a task's exit event: it records the exit, if the task
// ended, and tells subscribers.
func (r *Runtime) exited(ctx context.Context, id string) {
	r.mu.Lock()
	ct := r.containers[id]
	r.mu.Unlock()
	if ct == nil {
		return
	}
	ct.pod.op.Lock()
	r.mu.Lock()
	was := ct.State
	r.mu.Unlock()
	err := r.finish(ctx, ct)
	r.mu.Lock()
	now := ct.State
	r.mu.Unlock()
	ct.pod.op.Unlock()
	if err != nil {
		klog.FromContext(ctx).Error(err, "Record container exit", "container", id)
		return
	}
	if now != was {
		r.signal(ct.pod.uid)
	}
}

// finish records the exit of ct if its task ended (or is gone): it deletes
// the task, which waits for the log copier, and writes the exit into the
// labels. A running task is left alone. The pod's op is held.
func (r *Runtime) finish(ctx context.Context, ct *container) error {
	r.mu.Lock()
	task, state := ct.task, ct.State
	r.mu.Unlock()
	if state == runtime.StateExited {
		return nil
	}
	obj, err := r.client.LoadContainer(ctx, ct.ID)
	if err != nil {
		return err
	}
	if task == nil {
		if task, err = obj.Task(ctx, nil); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	code, finished := int32(255), time.Now()
	if task != nil {
		st, err := task.Status(ctx)
		switch {
		case errdefs.IsNotFound(err):
		case err != nil:
			return err
		case st.Status == containerd.Running || st.Status == containerd.Paused || st.Status == containerd.Pausing:
			return nil
		case st.Status == containerd.Created && state == runtime.StateCreated:
			return nil // StartContainer is starting it
		}
		es, err := task.Delete(ctx)
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete task of %s: %w", ct.Name, err)
		}
		if es != nil {
			code, finished = int32(es.ExitCode()), es.ExitTime()
		}
	}
	r.mu.Lock()
	reason := "Error"
	switch {
	case ct.oom:
		reason = "OOMKilled"
	case code == 0:
		reason = "Completed"
	}
	r.mu.Unlock()
	if ct.log != nil {
		ct.log.Close()
	}
	// Attach sessions end once the exit is recorded: their clients then
	// see the container exited.
	defer ct.stdout.close()
	defer ct.stderr.close()
	if ct.stdin != nil {
		ct.stdin.close()
	}
	message := r.terminationMessage(ctx, obj, ct, code)
	r.removeFIFOs(ct.ID)
	if _, err := obj.SetLabels(ctx, map[string]string{labelExitCode: strconv.Itoa(int(code)), labelReason: reason, labelFinished: formatTime(finished)}); err != nil {
		return fmt.Errorf("record exit of %s: %w", ct.Name, err)
	}
	r.mu.Lock()
	ct.task, ct.log = nil, nil
	ct.State, ct.ExitCode, ct.Reason, ct.FinishedAt, ct.Message = runtime.StateExited, code, reason, finished, message
	if ct.StartedAt.After(finished) {
		ct.FinishedAt = ct.StartedAt
	}
	r.mu.Unlock()
	return nil
}

// RemoveContainer forgets an exited container, its snapshot and its log.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx = r.nsctx(ctx)
	r.mu.Lock()
	ct := r.containers[id]
	r.mu.Unlock()
	if ct == nil {
		return nil
	}
	ct.pod.op.Lock()
	defer ct.pod.op.Unlock()
	r.mu.Lock()
	state := ct.State
	r.mu.Unlock()
	if state != runtime.StateExited {
		return fmt.Errorf("container %s is %s; stop it first", ct.Name, state)
	}
	if err := r.deleteContainer(ctx, id); err != nil {
		return err
	}
	removeLog(ct.logPath)
	_ = os.Remove(r.terminationFile(ct.pod.uid, id))
	r.mu.Lock()
	delete(r.containers, id)
	p := ct.pod
	for i, c := range p.containers {
		if c == ct {
			p.containers = append(p.containers[:i:i], p.containers[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	return nil
}
