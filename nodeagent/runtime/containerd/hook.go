package containerd

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// runHook runs a lifecycle handler (exec, httpGet or sleep) against the
// running container id and returns an error, with what the handler said,
// if it failed.
func (r *Runtime) runHook(ctx context.Context, pod *corev1.Pod, id string, h *corev1.LifecycleHandler) error {
	var res runtime.ProbeResult
	var msg string
	var err error
	switch {
	case h.Exec != nil:
		res, msg, err = r.exec(ctx, id, h.Exec.Command)
	case h.HTTPGet != nil:
		res, msg, err = r.netProbe(ctx, pod, id, &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: h.HTTPGet}})
	case h.Sleep != nil:
		select {
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		case <-ctx.Done():
		}
		return nil
	default:
		return errors.New("lifecycle handler has no action")
	}
	switch {
	case err != nil:
		return err
	case res != runtime.ProbeSuccess:
		return errors.New(msg)
	}
	return nil
}

// postStart runs c's postStart hook, if any, in the container that just
// started; if the hook fails the container is killed, as upstream's.
// The pod's op is held.
func (r *Runtime) postStart(ctx context.Context, pod *corev1.Pod, c *corev1.Container, ct *container) error {
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return nil
	}
	err := r.runHook(ctx, pod, ct.ID, c.Lifecycle.PostStart)
	if err == nil {
		return nil
	}
	klog.FromContext(ctx).V(2).Info("PostStart hook failed; killing the container", "container", ct.ID, "err", err)
	if stopErr := r.stop(ctx, ct, 0); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	return &runtime.HookError{Hook: "PostStart", Err: fmt.Errorf("PostStartHook failed: %w", err)}
}
