package containerd

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// specOpts build c's OCI spec on the image's: command and args, env,
// working dir, the sandbox's namespaces and files, user, resources.
func (r *Runtime) specOpts(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sb *sandbox, img containerd.Image) ([]oci.SpecOpts, error) {
	ic, err := img.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %s config: %w", c.Image, err)
	}
	env, err := resolveEnv(ctx, r.cfg.Client, r.cfg.Services, pod, c, sb)
	if err != nil {
		return nil, err
	}
	args := commandLine(c, ic.Config.Entrypoint, ic.Config.Cmd, env)
	if len(args) == 0 {
		return nil, fmt.Errorf("container %s: no command: neither the pod nor the image %s names one", c.Name, c.Image)
	}
	dir := r.podDir(pod.UID)
	nsDir := filepath.Join(dir, sb.ID, "ns")
	opts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(args...),
		oci.WithEnv(env),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace, Path: filepath.Join(nsDir, "ipc")}),
		oci.WithMounts([]specs.Mount{
			bindMount(filepath.Join(dir, "hosts"), "/etc/hosts"),
			bindMount(filepath.Join(dir, "resolv.conf"), "/etc/resolv.conf"),
			bindMount(filepath.Join(dir, "hostname"), "/etc/hostname"),
		}),
	}
	if sb.hostNetwork {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		opts = append(opts,
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: filepath.Join(nsDir, "net")}),
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.UTSNamespace, Path: filepath.Join(nsDir, "uts")}),
			oci.WithHostname(sb.hostname))
	}
	if c.TTY {
		opts = append(opts, oci.WithTTY)
	}
	if c.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(c.WorkingDir))
	}
	if uid, gid := runAs(pod, c); uid != nil {
		if gid != nil {
			opts = append(opts, oci.WithUIDGID(uint32(*uid), uint32(*gid)))
		} else {
			opts = append(opts, oci.WithUserID(uint32(*uid)))
		}
	} else if gid != nil {
		opts = append(opts, oci.WithUser("0:"+strconv.FormatInt(*gid, 10)))
	}
	if mem, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && !mem.IsZero() {
		opts = append(opts, oci.WithMemoryLimit(uint64(mem.Value())))
	}
	if cpu, ok := c.Resources.Limits[corev1.ResourceCPU]; ok && !cpu.IsZero() {
		const period = 100000 // µs, as upstream
		opts = append(opts, oci.WithCPUCFS(max(cpu.MilliValue()*period/1000, 1000), period))
	}
	if cpu, ok := c.Resources.Requests[corev1.ResourceCPU]; ok && !cpu.IsZero() {
		opts = append(opts, oci.WithCPUShares(uint64(max(cpu.MilliValue()*1024/1000, 2))))
	}
	return opts, nil
}

func bindMount(src, dst string) specs.Mount {
	return specs.Mount{Source: src, Destination: dst, Type: "bind", Options: []string{"rbind", "rprivate", "rw"}}
}

// runAs is the user and group the container's securityContext (or the
// pod's) asks for.
func runAs(pod *corev1.Pod, c *corev1.Container) (uid, gid *int64) {
	if psc := pod.Spec.SecurityContext; psc != nil {
		uid, gid = psc.RunAsUser, psc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	return uid, gid
}

// commandLine is what the container runs, as upstream decides: command
// replaces the image's entrypoint and drops its cmd; args replace the cmd.
// $(VAR) references to env expand.
func commandLine(c *corev1.Container, entrypoint, cmd []string, env []string) []string {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var out []string
	if len(c.Command) > 0 {
		for _, s := range c.Command {
			out = append(out, expand(s, vars))
		}
	} else {
		out = append(out, entrypoint...)
	}
	switch {
	case len(c.Args) > 0:
		for _, s := range c.Args {
			out = append(out, expand(s, vars))
		}
	case len(c.Command) == 0:
		out = append(out, cmd...)
	}
	return out
}

// containerEnv is c's environment without the sources that need the API
// (see resolveEnv).
func containerEnv(pod *corev1.Pod, c *corev1.Container, sb *sandbox) []string {
	env, _ := resolveEnv(context.Background(), nil, nil, pod, c, sb)
	return env
}

// podField is the downward API's value of path.
func podField(pod *corev1.Pod, sb *sandbox, path string) (string, bool) {
	switch path {
	case "metadata.name":
		return pod.Name, true
	case "metadata.namespace":
		return pod.Namespace, true
	case "metadata.uid":
		return string(pod.UID), true
	case "spec.nodeName":
		return pod.Spec.NodeName, true
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, true
	case "status.podIP":
		if len(sb.IPs) > 0 {
			return sb.IPs[0], true
		}
		return "", true
	case "status.podIPs":
		return strings.Join(sb.IPs, ","), true
	case "status.hostIP":
		return pod.Status.HostIP, true
	}
	if key, ok := mapKey(path, "metadata.labels"); ok {
		return pod.Labels[key], true
	}
	if key, ok := mapKey(path, "metadata.annotations"); ok {
		return pod.Annotations[key], true
	}
	return "", false
}

// mapKey returns key from a path "<field>['<key>']".
func mapKey(path, field string) (string, bool) {
	rest, ok := strings.CutPrefix(path, field+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// expand replaces $(VAR) with vars' value as upstream does: "$$" is a
// literal "$", and references to unknown variables stay as written.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
