package containerd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubelite/kubelite/nodeagent/podnet"
	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// RunPodSandbox makes the pod's namespaces and files, or returns the ready
// sandbox it has.
func (r *Runtime) RunPodSandbox(ctx context.Context, pod *corev1.Pod) (_ *runtime.Sandbox, retErr error) {
	ctx = r.nsctx(ctx)
	r.mu.Lock()
	p := r.podLocked(pod.UID, pod.Namespace, pod.Name)
	r.mu.Unlock()
	p.op.Lock()
	defer p.op.Unlock()
	r.mu.Lock()
	if sb := p.current(); sb != nil && sb.Ready {
		cp := sb.Sandbox
		r.mu.Unlock()
		return &cp, nil
	}
	r.mu.Unlock()
	defer func() {
		if retErr != nil {
			r.forgetIfEmpty(p)
		}
	}()

	hostNetwork := pod.Spec.HostNetwork
	sb := &sandbox{Sandbox: runtime.Sandbox{ID: newID(), Ready: true, CreatedAt: time.Now()}, hostNetwork: hostNetwork, hostname: podHostname(pod)}
	setup := nsSetup{hostNetwork: hostNetwork, hostname: sb.hostname}
	if hostNetwork {
		sb.IPs = r.cfg.HostIPs
		if h, err := os.Hostname(); err == nil {
			sb.hostname = h // the pod shares the host's UTS namespace
		}
	} else if r.cfg.Network == nil {
		ips, err := r.allocate()
		if err != nil {
			return nil, err
		}
		defer func() {
			if retErr != nil {
				r.release(ips)
			}
		}()
		sb.IPs = ips
		for _, ip := range ips {
			a := netip.MustParseAddr(ip)
			setup.addrs = append(setup.addrs, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	dir := filepath.Join(r.podDir(pod.UID), sb.ID)
	if err := newNamespaces(filepath.Join(dir, "ns"), setup); err != nil {
		return nil, fmt.Errorf("sandbox namespaces: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if !hostNetwork && r.cfg.Network != nil {
		att := attachment(sb.ID, filepath.Join(dir, "ns", "net"), pod.Namespace, pod.Name, pod.UID)
		att.Ports = podnet.PodPorts(pod)
		ips, err := r.cfg.Network.Add(ctx, att)
		if err != nil {
			_ = r.cfg.Network.Del(ctx, att)
			_ = removeNamespaces(filepath.Join(dir, "ns"))
			return nil, fmt.Errorf("pod network: %w", err)
		}
		sb.IPs = ips
		defer func() {
			if retErr != nil {
				_ = r.cfg.Network.Del(ctx, att)
			}
		}()
	}
	if err := r.writePodFiles(pod, sb); err != nil {
		_ = removeNamespaces(filepath.Join(dir, "ns"))
		return nil, err
	}
	labels := map[string]string{
		labelKind: kindSandbox, labelPodUID: string(pod.UID), labelPodNS: pod.Namespace, labelPodName: pod.Name,
		labelIPs: strings.Join(sb.IPs, labelSeparator), labelReady: labelTrue, labelCreated: formatTime(sb.CreatedAt),
		labelHostNet: fmt.Sprint(hostNetwork),
	}
	// A record without a task or snapshot: containerd keeps the labels.
	if _, err := r.client.NewContainer(ctx, sb.ID, containerd.WithContainerLabels(labels), containerd.WithSpec(&oci.Spec{Version: specs.Version})); err != nil {
		_ = removeNamespaces(filepath.Join(dir, "ns"))
		return nil, fmt.Errorf("record sandbox: %w", err)
	}
	r.mu.Lock()
	p.sandboxes = append(p.sandboxes, sb)
	cp := sb.Sandbox
	r.mu.Unlock()
	return &cp, nil
}

// attachment names a sandbox to the pod network; netns is the path of its
// network namespace, if it still has one.
func attachment(id, netns, namespace, name string, uid types.UID) podnet.Attachment {
	if !isNamespace(netns) {
		netns = ""
	}
	return podnet.Attachment{ID: id, NetNS: netns, Namespace: namespace, Name: name, UID: string(uid)}
}

// forgetIfEmpty drops a pod that holds nothing (a sandbox that failed).
func (r *Runtime) forgetIfEmpty(p *pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p.sandboxes) == 0 && len(p.containers) == 0 && r.pods[p.uid] == p {
		delete(r.pods, p.uid)
	}
}

func (r *Runtime) allocate() ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ips []string
	for _, pl := range r.pools {
		ip, err := pl.Allocate()
		if err != nil {
			for _, ip := range ips {
				for _, pl := range r.pools {
					pl.Release(ip)
				}
			}
			return nil, err
		}
		ips = append(ips, ip)
	}
	return ips, nil
}

func (r *Runtime) release(ips []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ip := range ips {
		for _, pl := range r.pools {
			pl.Release(ip)
		}
	}
}

// StopPod stops the pod's containers, each with at most grace after
// SIGTERM, then its sandbox: its namespaces go and its addresses are freed.
func (r *Runtime) StopPod(ctx context.Context, uid types.UID, grace time.Duration) error {
	ctx = r.nsctx(ctx)
	r.mu.Lock()
	p := r.pods[uid]
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	p.op.Lock()
	defer p.op.Unlock()
	r.mu.Lock()
	var running []*container
	for _, c := range p.containers {
		if c.State != runtime.StateExited {
			running = append(running, c)
		}
	}
	var ready []*sandbox
	for _, sb := range p.sandboxes {
		if sb.Ready {
			ready = append(ready, sb)
		}
	}
	r.mu.Unlock()
	errs := make([]error, len(running))
	var wg sync.WaitGroup
	for i, c := range running {
		wg.Go(func() { errs[i] = r.stop(ctx, c, grace) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, sb := range ready {
		if !sb.hostNetwork && r.cfg.Network != nil {
			if err := r.cfg.Network.Del(ctx, attachment(sb.ID, filepath.Join(r.podDir(uid), sb.ID, "ns", "net"), p.namespace, p.name, uid)); err != nil {
				return err
			}
		}
		if err := removeNamespaces(filepath.Join(r.podDir(uid), sb.ID, "ns")); err != nil {
			return err
		}
		if err := r.setLabels(ctx, sb.ID, map[string]string{labelReady: labelFalse}); err != nil {
			return err
		}
		if !sb.hostNetwork && r.cfg.Network == nil {
			r.release(sb.IPs)
		}
		r.mu.Lock()
		sb.Ready = false
		r.mu.Unlock()
	}
	return nil
}

// RemovePod forgets a stopped pod: its containers, sandboxes and files.
func (r *Runtime) RemovePod(ctx context.Context, uid types.UID) error {
	ctx = r.nsctx(ctx)
	r.mu.Lock()
	p := r.pods[uid]
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	p.op.Lock()
	defer p.op.Unlock()
	r.mu.Lock()
	var ids []string
	for _, c := range p.containers {
		if c.State != runtime.StateExited {
			r.mu.Unlock()
			return fmt.Errorf("pod %s: container %s is %s; stop the pod first", uid, c.Name, c.State)
		}
		ids = append(ids, c.ID)
	}
	for _, sb := range p.sandboxes {
		if sb.Ready {
			r.mu.Unlock()
			return fmt.Errorf("pod %s: sandbox %s is ready; stop the pod first", uid, sb.ID)
		}
		ids = append(ids, sb.ID)
	}
	r.mu.Unlock()
	for _, id := range ids {
		if err := r.deleteContainer(ctx, id); err != nil {
			return err
		}
	}
	if err := r.volumes.TearDown(ctx, uid); err != nil {
		return err
	}
	if err := os.RemoveAll(r.podDir(uid)); err != nil {
		return err
	}
	r.mu.Lock()
	for _, c := range p.containers {
		delete(r.containers, c.ID)
	}
	delete(r.pods, uid)
	r.mu.Unlock()
	return nil
}

// deleteContainer deletes a containerd container and its snapshot; a
// missing one is fine.
func (r *Runtime) deleteContainer(ctx context.Context, id string) error {
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	opts := []containerd.DeleteOpts{}
	if info, err := c.Info(ctx); err == nil && info.SnapshotKey != "" {
		opts = append(opts, containerd.WithSnapshotCleanup)
	}
	if err := c.Delete(ctx, opts...); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	return nil
}

func (r *Runtime) setLabels(ctx context.Context, id string, labels map[string]string) error {
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	if _, err := c.SetLabels(ctx, labels); err != nil {
		return fmt.Errorf("label container %s: %w", id, err)
	}
	return nil
}

// podHostname is the pod's hostname as upstream sets it: spec.hostname or
// the pod's name, at most 63 characters, without a trailing '-' or '.'.
func podHostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// writePodFiles writes the pod's hostname, hosts and resolv.conf, which its
// containers mount.
func (r *Runtime) writePodFiles(pod *corev1.Pod, sb *sandbox) error {
	dir := r.podDir(pod.UID)
	hosts, err := hostsFile(pod, sb)
	if err != nil {
		return err
	}
	resolv, err := r.resolvConf(pod)
	if err != nil {
		return err
	}
	for name, content := range map[string][]byte{"hostname": []byte(sb.hostname + "\n"), "hosts": hosts, "resolv.conf": resolv} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostsFile is /etc/hosts as upstream's kubelet writes it: the host's for
// hostNetwork pods, else localhost entries, the pod's own addresses under its
// hostname (and FQDN with a subdomain), then spec.hostAliases.
func hostsFile(pod *corev1.Pod, sb *sandbox) ([]byte, error) {
	var b strings.Builder
	if sb.hostNetwork {
		host, err := os.ReadFile("/etc/hosts")
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		b.WriteString("# Kubernetes-managed hosts file (host network).\n")
		b.Write(host)
	} else {
		b.WriteString("# Kubernetes-managed hosts file.\n")
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
		names := sb.hostname
		if pod.Spec.Subdomain != "" {
			names = fmt.Sprintf("%s.%s.%s.svc.%s\t%s", sb.hostname, pod.Spec.Subdomain, pod.Namespace, DefaultClusterDomain, sb.hostname)
		}
		for _, ip := range sb.IPs {
			fmt.Fprintf(&b, "%s\t%s\n", ip, names)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return []byte(b.String()), nil
}

// resolvConf is the pod's resolv.conf by its dnsPolicy: the host's for
// Default (and for ClusterFirst without cluster DNS, as upstream), the
// cluster's nameservers and search path for ClusterFirst, then dnsConfig.
func (r *Runtime) resolvConf(pod *corev1.Pod) ([]byte, error) {
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	var servers, searches, options []string
	for _, line := range strings.Split(string(host), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			servers = append(servers, f[1])
		case "search":
			searches = f[1:]
		case "options":
			options = f[1:]
		}
	}
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if policy == corev1.DNSClusterFirstWithHostNet && !pod.Spec.HostNetwork {
		policy = corev1.DNSClusterFirst
	}
	if pod.Spec.HostNetwork && policy == corev1.DNSClusterFirst {
		policy = corev1.DNSDefault
	}
	switch {
	case policy == corev1.DNSNone:
		servers, searches, options = nil, nil, nil
	case (policy == corev1.DNSClusterFirst || policy == corev1.DNSClusterFirstWithHostNet) && len(r.cfg.ClusterDNS) > 0:
		d := r.cfg.ClusterDomain
		servers = r.cfg.ClusterDNS
		searches = append([]string{pod.Namespace + ".svc." + d, "svc." + d, d}, searches...)
		options = []string{"ndots:5"}
	}
	if c := pod.Spec.DNSConfig; c != nil {
		servers = append(servers, c.Nameservers...)
		searches = append(searches, c.Searches...)
		for _, o := range c.Options {
			if o.Value != nil {
				options = append(options, o.Name+":"+*o.Value)
			} else {
				options = append(options, o.Name)
			}
		}
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return []byte(b.String()), nil
}
