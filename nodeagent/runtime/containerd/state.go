package containerd

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// Labels on containerd containers: what a restarted runtime needs.
const (
	labelPrefix    = "io.kubelite."
	labelKind      = labelPrefix + "kind" // "sandbox" or "container"
	labelPodUID    = labelPrefix + "pod.uid"
	labelPodNS     = labelPrefix + "pod.namespace"
	labelPodName   = labelPrefix + "pod.name"
	labelSandbox   = labelPrefix + "sandbox"     // a container's sandbox ID
	labelIPs       = labelPrefix + "ips"         // a sandbox's addresses, comma-separated
	labelHostNet   = labelPrefix + "hostnetwork" // "true" for a hostNetwork sandbox
	labelReady     = labelPrefix + "ready"       // a sandbox's readiness
	labelName      = labelPrefix + "name"
	labelAttempt   = labelPrefix + "attempt"
	labelImage     = labelPrefix + "image"
	labelImageRef  = labelPrefix + "imageref"
	labelCreated   = labelPrefix + "created"
	labelStarted   = labelPrefix + "started"
	labelFinished  = labelPrefix + "finished"
	labelExitCode  = labelPrefix + "exitcode"
	labelReason    = labelPrefix + "reason"
	labelLog       = labelPrefix + "log"
	kindSandbox    = "sandbox"
	kindContainer  = "container"
	timeFormat     = time.RFC3339Nano
	labelTrue      = "true"
	labelFalse     = "false"
	labelSeparator = ","
)

// pod is what the runtime holds for one pod.
type pod struct {
	uid             types.UID
	namespace, name string
	// op serialises the calls that change the pod, and exit handling.
	op sync.Mutex

	// Guarded by Runtime.mu:
	sandboxes  []*sandbox // the current one last
	containers []*container
}

// sandbox is one sandbox of a pod.
type sandbox struct {
	runtime.Sandbox
	hostNetwork bool
	hostname    string
}

// container is one container attempt.
type container struct {
	runtime.Container // guarded by Runtime.mu
	pod               *pod
	sandboxID         string
	logPath           string
	oom               bool // guarded by Runtime.mu
	// task is the running task with its IO (the log copier), nil once exited.
	task containerd.Task
	log  *logFile
	// stdin is the process's stdin for attach sessions; nil without one.
	stdin *stdinPipe
	// stdout and stderr carry the running task's output to the log and to
	// attach sessions; nil once the runtime lost the task's IO.
	stdout, stderr *outputTee
}

// current returns the pod's latest sandbox, or nil. Runtime.mu held.
func (p *pod) current() *sandbox {
	if len(p.sandboxes) == 0 {
		return nil
	}
	return p.sandboxes[len(p.sandboxes)-1]
}

// status copies p's state. Runtime.mu held.
func (p *pod) status() *runtime.PodStatus {
	s := &runtime.PodStatus{UID: p.uid, Namespace: p.namespace, Name: p.name}
	if sb := p.current(); sb != nil {
		cp := sb.Sandbox
		cp.IPs = append([]string(nil), sb.IPs...)
		s.Sandbox = &cp
	}
	for _, c := range p.containers {
		s.Containers = append(s.Containers, c.Container)
	}
	return s
}

// PodStatus returns what the runtime holds for the pod, or nil.
func (r *Runtime) PodStatus(_ context.Context, uid types.UID) (*runtime.PodStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pods[uid]
	if p == nil {
		return nil, nil
	}
	return p.status(), nil
}

// ListPods returns every pod the runtime holds.
func (r *Runtime) ListPods(context.Context) ([]*runtime.PodStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*runtime.PodStatus, 0, len(r.pods))
	for _, p := range r.pods {
		out = append(out, p.status())
	}
	return out, nil
}

// podLocked returns the pod with uid, creating it. Runtime.mu held.
func (r *Runtime) podLocked(uid types.UID, namespace, name string) *pod {
	p := r.pods[uid]
	if p == nil {
		p = &pod{uid: uid, namespace: namespace, name: name}
		r.pods[uid] = p
	}
	return p
}

// restore rebuilds the state from containerd's containers: sandboxes first,
// then containers; a running container's log copier is attached again.
func (r *Runtime) restore(ctx context.Context) error {
	list, err := r.client.Containers(ctx, fmt.Sprintf(`labels.%q`, labelKind))
	if err != nil {
		return err
	}
	logger := klog.FromContext(ctx)
	var infos []map[string]string
	var objs []containerd.Container
	for _, c := range list {
		labels, err := c.Labels(ctx)
		if err != nil {
			return err
		}
		if labels[labelKind] == kindSandbox {
			infos, objs = append([]map[string]string{labels}, infos...), append([]containerd.Container{c}, objs...)
		} else {
			infos, objs = append(infos, labels), append(objs, c)
		}
	}
	for i, l := range infos {
		uid := types.UID(l[labelPodUID])
		r.mu.Lock()
		p := r.podLocked(uid, l[labelPodNS], l[labelPodName])
		r.mu.Unlock()
		if l[labelKind] == kindSandbox {
			sb := &sandbox{Sandbox: runtime.Sandbox{ID: objs[i].ID(), Ready: l[labelReady] == labelTrue, CreatedAt: parseTime(l[labelCreated])}, hostNetwork: l[labelHostNet] == labelTrue}
			if ips := l[labelIPs]; ips != "" {
				sb.IPs = strings.Split(ips, labelSeparator)
			}
			if sb.Ready {
				if !isNamespace(filepath.Join(r.podDir(uid), sb.ID, "ns", "ipc")) {
					sb.Ready = false // the host rebooted: the namespaces are gone
					if !sb.hostNetwork && r.cfg.Network != nil {
						// Free its addresses, which the network keeps on disk.
						if err := r.cfg.Network.Del(ctx, attachment(sb.ID, "", p.namespace, p.name, uid)); err != nil {
							logger.Error(err, "Detach a sandbox whose namespaces are gone", "sandbox", sb.ID)
						}
					}
				}
			}
			if sb.Ready && !sb.hostNetwork && r.cfg.Network == nil {
				for _, ip := range sb.IPs {
					for _, pl := range r.pools {
						if pl.Take(ip) {
							break
						}
					}
				}
			}
			r.mu.Lock()
			p.sandboxes = append(p.sandboxes, sb)
			r.mu.Unlock()
			continue
		}
		attempt, _ := strconv.Atoi(l[labelAttempt])
		c := &container{pod: p, sandboxID: l[labelSandbox], logPath: l[labelLog], Container: runtime.Container{
			ID: objs[i].ID(), Name: l[labelName], Attempt: attempt, Image: l[labelImage], ImageRef: l[labelImageRef],
			State: runtime.StateCreated, CreatedAt: parseTime(l[labelCreated]), StartedAt: parseTime(l[labelStarted]),
		}}
		if code, ok := l[labelExitCode]; ok {
			n, _ := strconv.Atoi(code)
			c.State, c.ExitCode, c.Reason, c.FinishedAt = runtime.StateExited, int32(n), l[labelReason], parseTime(l[labelFinished])
			c.Message = r.readTerminationMessage(uid, c.ID)
		} else if !c.StartedAt.IsZero() {
			c.State = runtime.StateRunning
			if l[labelStdin] != "" {
				c.stdin = newStdinPipe(l[labelStdin] == "once")
			}
			if err := r.attach(ctx, objs[i], c); err != nil {
				logger.Error(err, "Attach to a running container's output", "container", c.ID)
			}
		}
		r.mu.Lock()
		p.containers = append(p.containers, c)
		r.containers[c.ID] = c
		r.mu.Unlock()
	}
	// Sandboxes in creation order, so that the current one is last.
	r.mu.Lock()
	for _, p := range r.pods {
		sortSandboxes(p.sandboxes)
		if sb := p.current(); sb != nil && sb.Ready {
			r.volumes.Adopt(p.namespace, p.name, p.uid)
		}
	}
	r.mu.Unlock()
	return nil
}

// attach reopens the log of a running container and copies its output
// there again. A container whose task is gone is left for resync.
func (r *Runtime) attach(ctx context.Context, obj containerd.Container, c *container) error {
	lf, err := openLog(c.logPath)
	if err != nil {
		return err
	}
	c.stdout, c.stderr = newOutputTee(lf.stream("stdout")), newOutputTee(lf.stream("stderr"))
	task, err := obj.Task(ctx, cio.NewAttach(cio.WithStreams(c.stdin.reader(), c.stdout, c.stderr)))
	if err != nil {
		lf.Close()
		if c.stdin != nil {
			c.stdin.close()
		}
		if errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	c.task, c.log = task, lf
	return nil
}

func sortSandboxes(s []*sandbox) {
	slices.SortStableFunc(s, func(a, b *sandbox) int { return a.CreatedAt.Compare(b.CreatedAt) })
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }
