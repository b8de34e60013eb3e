package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubelite/kubelite/nodeagent/runtime"
	"github.com/kubelite/kubelite/nodeagent/volumes"
)

// VolumeManager makes the volumes of pods on the host (volumes.Manager).
type VolumeManager interface {
	// SetUp makes pod's volumes and returns them by name.
	SetUp(ctx context.Context, pod *corev1.Pod) (map[string]volumes.Volume, error)
	// TearDown removes what SetUp made for the pod.
	TearDown(ctx context.Context, uid types.UID) error
	// Adopt takes over the volumes of a pod set up before a restart.
	Adopt(namespace, name string, uid types.UID)
	// EmptyDirOverLimit returns the eviction message of the pod's first
	// disk emptyDir over its sizeLimit, or "".
	EmptyDirOverLimit(pod *corev1.Pod) string
}

// EmptyDirOverLimit returns why pod must be evicted: its first emptyDir
// volume on disk that uses more than its sizeLimit (upstream's message);
// "" when none does. The node agent asks it periodically.
func (r *Runtime) EmptyDirOverLimit(pod *corev1.Pod) string { return r.volumes.EmptyDirOverLimit(pod) }

// labelTermination is a container's terminationMessagePolicy.
const labelTermination = labelPrefix + "termination"

// maxTerminationMessage is how much of a termination message is kept, and
// fallbackLines how many log lines FallbackToLogsOnError takes, as upstream.
const (
	maxTerminationMessage = 4096
	fallbackLines         = 80
)

// containerOpts are the parts of container id's spec that come from the
// pod beyond its process: volume mounts, the termination message file and
// the security context.
func (r *Runtime) containerOpts(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, img containerd.Image) ([]oci.SpecOpts, error) {
	var mounts []specs.Mount
	if len(pod.Spec.Volumes) > 0 {
		vols, err := r.volumes.SetUp(ctx, pod)
		if err != nil {
			return nil, err
		}
		for _, vm := range c.VolumeMounts {
			m, err := volumeMount(vm, vols)
			if err != nil {
				return nil, err
			}
			mounts = append(mounts, m)
		}
	}
	termPath := c.TerminationMessagePath
	if termPath == "" {
		termPath = corev1.TerminationMessagePathDefault
	}
	file := r.terminationFile(pod.UID, id)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		return nil, err
	}
	_ = os.Chmod(file, 0o666) // whatever the umask, any user may write it
	mounts = append(mounts, bindMount(file, termPath))

	ic, err := img.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s config: %w", c.Image, err)
	}
	if err := checkNonRoot(pod, c, ic.Config.User); err != nil {
		return nil, err
	}
	opts := []oci.SpecOpts{oci.WithMounts(mounts), withGroups(pod)}
	return append(opts, securityOpts(pod, c)...), nil
}

func (r *Runtime) terminationFile(uid types.UID, id string) string {
	return filepath.Join(r.podDir(uid), "termination", id)
}

// volumeMount binds the volume vm names at its mountPath: the volume's
// path, or subPath in it.
func volumeMount(vm corev1.VolumeMount, vols map[string]volumes.Volume) (specs.Mount, error) {
	vol, ok := vols[vm.Name]
	if !ok {
		return specs.Mount{}, &runtime.ConfigError{Err: fmt.Errorf("cannot find volume %q to mount into container", vm.Name)}
	}
	src := vol.Path
	if vm.SubPath != "" {
		if filepath.IsAbs(vm.SubPath) || strings.HasPrefix(filepath.Clean(vm.SubPath), "..") {
			return specs.Mount{}, &runtime.ConfigError{Err: fmt.Errorf("subPath %q of volume %q leaves the volume", vm.SubPath, vm.Name)}
		}
		src = filepath.Join(src, vm.SubPath)
		if _, err := os.Lstat(src); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(src, 0o750); err != nil {
				return specs.Mount{}, fmt.Errorf("subPath %q of volume %q: %w", vm.SubPath, vm.Name, err)
			}
		}
		// A symlink in the volume must not lead out of it.
		real, err := filepath.EvalSymlinks(src)
		if err != nil {
			return specs.Mount{}, fmt.Errorf("subPath %q of volume %q: %w", vm.SubPath, vm.Name, err)
		}
		base, _ := filepath.EvalSymlinks(vol.Path)
		if real != base && !strings.HasPrefix(real, base+"/") {
			return specs.Mount{}, &runtime.ConfigError{Err: fmt.Errorf("subPath %q of volume %q leaves the volume", vm.SubPath, vm.Name)}
		}
		src = real
	}
	propagation := "rprivate"
	if vm.MountPropagation != nil {
		switch *vm.MountPropagation {
		case corev1.MountPropagationHostToContainer:
			propagation = "rslave"
		case corev1.MountPropagationBidirectional:
			propagation = "rshared"
		}
	}
	mode := "rw"
	if vm.ReadOnly || vol.ReadOnly {
		mode = "ro"
	}
	return specs.Mount{Source: src, Destination: vm.MountPath, Type: "bind", Options: []string{"rbind", propagation, mode}}, nil
}

// checkNonRoot refuses to run a container as root when runAsNonRoot asks
// for a non-root user, with upstream's messages.
func checkNonRoot(pod *corev1.Pod, c *corev1.Container, imageUser string) error {
	nonRoot := false
	var uid *int64
	if psc := pod.Spec.SecurityContext; psc != nil {
		nonRoot = psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
		uid = psc.RunAsUser
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
	}
	if !nonRoot {
		return nil
	}
	who := fmt.Sprintf("(pod: %q, container: %s)", fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID), c.Name)
	if uid != nil {
		if *uid == 0 {
			return &runtime.ConfigError{Err: errors.New("container's runAsUser breaks non-root policy " + who)}
		}
		return nil
	}
	user, _, _ := strings.Cut(imageUser, ":")
	if user == "" {
		return &runtime.ConfigError{Err: errors.New("container has runAsNonRoot and image will run as root " + who)}
	}
	n, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		return &runtime.ConfigError{Err: fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root %s", user, who)}
	}
	if n == 0 {
		return &runtime.ConfigError{Err: errors.New("container has runAsNonRoot and image will run as root " + who)}
	}
	return nil
}

// withGroups adds the pod's fsGroup and supplementalGroups to the
// process's groups.
func withGroups(pod *corev1.Pod) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		psc := pod.Spec.SecurityContext
		if psc == nil || s.Process == nil {
			return nil
		}
		var gids []int64
		if psc.FSGroup != nil {
			gids = append(gids, *psc.FSGroup)
		}
		gids = append(gids, psc.SupplementalGroups...)
		for _, g := range gids {
			if !containsGID(s.Process.User.AdditionalGids, uint32(g)) {
				s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, uint32(g))
			}
		}
		return nil
	}
}

func containsGID(list []uint32, g uint32) bool {
	for _, x := range list {
		if x == g {
			return true
		}
	}
	return false
}

// securityOpts apply the container's securityContext: privileged,
// capabilities, a read-only root, no_new_privs, seccomp.
func securityOpts(pod *corev1.Pod, c *corev1.Container) []oci.SpecOpts {
	var opts []oci.SpecOpts
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	privileged := sc.Privileged != nil && *sc.Privileged
	if privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	}
	if caps := sc.Capabilities; caps != nil && !privileged {
		for _, d := range caps.Drop {
			if strings.EqualFold(string(d), "ALL") {
				opts = append(opts, oci.WithCapabilities(nil))
			}
		}
		var add, drop []string
		for _, a := range caps.Add {
			if strings.EqualFold(string(a), "ALL") {
				opts = append(opts, oci.WithAllCurrentCapabilities)
				continue
			}
			add = append(add, capName(a))
		}
		for _, d := range caps.Drop {
			if !strings.EqualFold(string(d), "ALL") {
				drop = append(drop, capName(d))
			}
		}
		opts = append(opts, oci.WithDroppedCapabilities(drop), oci.WithAddedCapabilities(add))
	}
	if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	// containerd's default spec sets no_new_privs; upstream sets it only
	// when allowPrivilegeEscalation is false.
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation && !privileged {
		opts = append(opts, oci.WithNoNewPrivileges)
	} else {
		opts = append(opts, oci.WithNewPrivileges)
	}
	profile := sc.SeccompProfile
	if profile == nil && pod.Spec.SecurityContext != nil {
		profile = pod.Spec.SecurityContext.SeccompProfile
	}
	if profile != nil && !privileged {
		switch profile.Type {
		case corev1.SeccompProfileTypeRuntimeDefault:
			opts = append(opts, seccomp.WithDefaultProfile())
		case corev1.SeccompProfileTypeUnconfined:
			opts = append(opts, oci.WithSeccompUnconfined)
		case corev1.SeccompProfileTypeLocalhost:
			if profile.LocalhostProfile != nil {
				opts = append(opts, seccomp.WithProfile(*profile.LocalhostProfile))
			}
		}
	}
	return opts
}

func capName(c corev1.Capability) string {
	s := strings.ToUpper(string(c))
	if !strings.HasPrefix(s, "CAP_") {
		s = "CAP_" + s
	}
	return s
}

// terminationMessage is what an exited container reports as its message:
// its termination message file or, with FallbackToLogsOnError after a
// failure and an empty file, the end of its log. It is written back to the
// file, where a restarted runtime finds it.
func (r *Runtime) terminationMessage(ctx context.Context, obj containerd.Container, ct *container, code int32) string {
	file := r.terminationFile(ct.pod.uid, ct.ID)
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	msg := string(b[:min(len(b), maxTerminationMessage)])
	if strings.TrimSpace(msg) == "" && code != 0 {
		if labels, err := obj.Labels(ctx); err == nil && labels[labelTermination] == string(corev1.TerminationMessageFallbackToLogsOnError) {
			msg = logTail(ct.logPath, fallbackLines, 2048)
			_ = os.WriteFile(file, []byte(msg), 0o666)
		}
	}
	return msg
}

// readTerminationMessage is the message an exited container left (restore).
func (r *Runtime) readTerminationMessage(uid types.UID, id string) string {
	b, _ := os.ReadFile(r.terminationFile(uid, id))
	return string(b[:min(len(b), maxTerminationMessage)])
}

// logTail is the content of the last lines of a CRI log, at most limit
// bytes.
func logTail(path string, lines, limit int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var out []string
	partial := false
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		// <time> <stream> <P|F> <content>
		parts := strings.SplitN(l, " ", 4)
		if len(parts) < 4 {
			continue
		}
		if partial {
			out[len(out)-1] += parts[3]
		} else {
			out = append(out, parts[3])
		}
		partial = parts[2] == "P"
	}
	if len(out) == 0 {
		return ""
	}
	s := strings.Join(out[max(0, len(out)-lines):], "\n") + "\n"
	if len(s) > limit {
		s = s[len(s)-limit:]
	}
	return s
}
