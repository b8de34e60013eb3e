package containerd_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// TestEmptyDir: an emptyDir volume is shared by the pod's containers; a
// Memory one is a tmpfs of its sizeLimit; subPath mounts a directory in it.
func TestEmptyDir(t *testing.T) {
	r, dir := newRuntimeDir(t)
	pod := testPod("emptydir",
		corev1.Container{Name: "writer", Command: []string{"sh", "-c", "echo shared > /data/f; echo sub > /sub/g"},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "data", MountPath: "/sub", SubPath: "dir"}}},
		corev1.Container{Name: "main", Command: []string{"sh", "-c",
			`until [ -f /in/f ] && [ -f /in/dir/g ]; do sleep 0.05; done; cat /in/f /in/dir/g; grep -o ' /mem tmpfs [^ ]*' /proc/mounts | grep -o 'size=[0-9]*k'; ` +
				`dd if=/dev/zero of=/mem/big bs=1k count=2048 2>/dev/null || echo full`},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/in", ReadOnly: true}, {Name: "mem", MountPath: "/mem"}}},
	)
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("1Mi"))}}},
	}
	ids := run(t, r, pod)
	if c := waitExited(t, r, pod.UID, ids[1]); c.ExitCode != 0 {
		t.Fatalf("reader exited %d: %q", c.ExitCode, logLines(t, dir, pod, "main"))
	}
	if got, want := logLines(t, dir, pod, "main"), []string{"stdout shared", "stdout sub", "stdout size=1024k", "stdout full"}; !slices.Equal(got, want) {
		t.Errorf("reader's log %q, want %q", got, want)
	}
}

// TestRunAsNonRoot: runAsNonRoot refuses an image that runs as root, and a
// runAsUser of 0, with upstream's messages as configuration errors; a
// non-root runAsUser runs, in the pod's fsGroup and supplementalGroups.
func TestRunAsNonRoot(t *testing.T) {
	r, dir := newRuntimeDir(t)
	for _, tc := range []struct {
		name string
		user *int64
		want string
	}{
		{"image-root", nil, "container has runAsNonRoot and image will run as root"},
		{"uid-0", ptr.To[int64](0), "container's runAsUser breaks non-root policy"},
	} {
		pod := testPod("nonroot-"+tc.name, corev1.Container{Name: "main", Command: []string{"true"},
			SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: tc.user}})
		if _, err := r.RunPodSandbox(t.Context(), pod); err != nil {
			t.Fatal(err)
		}
		_, err := r.StartContainer(t.Context(), pod, &pod.Spec.Containers[0], 0)
		var ce *runtime.ConfigError
		wantMsg := tc.want + ` (pod: "` + pod.Name + `_ns(` + string(pod.UID) + `)", container: main)`
		if !errors.As(err, &ce) || err.Error() != wantMsg {
			t.Errorf("%s: StartContainer = %v, want ConfigError %q", tc.name, err, wantMsg)
		}
		_ = r.StopPod(t.Context(), pod.UID, 0)
		_ = r.RemovePod(t.Context(), pod.UID)
	}

	pod := testPod("nonroot-ok", corev1.Container{Name: "main", Command: []string{"sh", "-c", "id -u; id -G"},
		SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000)}})
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000), SupplementalGroups: []int64{3000}}
	ids := run(t, r, pod)
	waitExited(t, r, pod.UID, ids[0])
	got := logLines(t, dir, pod, "main")
	if len(got) != 2 || got[0] != "stdout 1000" || !strings.Contains(got[1], " 2000") || !strings.Contains(got[1], " 3000") {
		t.Errorf("log %q, want uid 1000 in groups 2000 and 3000", got)
	}
}

// TestSecurityContext: a read-only root, capabilities dropped and added,
// no_new_privs and the runtime's default seccomp profile reach the process.
func TestSecurityContext(t *testing.T) {
	r, dir := newRuntimeDir(t)
	pod := testPod("security", corev1.Container{Name: "main",
		Command: []string{"sh", "-c", `touch /x 2>/dev/null && echo writable; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t' ' '`},
		SecurityContext: &corev1.SecurityContext{
			ReadOnlyRootFilesystem:   ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}})
	ids := run(t, r, pod)
	waitExited(t, r, pod.UID, ids[0])
	want := []string{"stdout CapEff: 0000000000000400", "stdout NoNewPrivs: 1", "stdout Seccomp: 2"}
	if got := logLines(t, dir, pod, "main"); !slices.Equal(got, want) {
		t.Errorf("log %q, want %q", got, want)
	}

	priv := testPod("privileged", corev1.Container{Name: "main", Command: []string{"sh", "-c", `grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -s '\t' ' '; touch /x && echo writable`},
		SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}})
	ids = run(t, r, priv)
	waitExited(t, r, priv.UID, ids[0])
	if got := logLines(t, dir, priv, "main"); len(got) != 3 || got[0] == "stdout CapEff: 00000000a80425fb" || got[1] != "stdout NoNewPrivs: 0" || got[2] != "stdout writable" {
		t.Errorf("privileged log %q, want more than the default capabilities, privileges that may grow and a writable root", got)
	}
}

// TestTerminationMessage: an exited container's message is what it wrote
// to its terminationMessagePath, or, with FallbackToLogsOnError after a
// failure, the end of its log.
func TestTerminationMessage(t *testing.T) {
	r, _ := newRuntimeDir(t)
	pod := testPod("termination",
		corev1.Container{Name: "file", Command: []string{"sh", "-c", "echo -n bye > /dev/termination-log; echo ignored; exit 2"}},
		corev1.Container{Name: "path", Command: []string{"sh", "-c", "echo -n custom > /tmp/msg"}, TerminationMessagePath: "/tmp/msg"},
		corev1.Container{Name: "fallback", Command: []string{"sh", "-c", "echo one; echo two; exit 1"}, TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError},
		corev1.Container{Name: "none", Command: []string{"sh", "-c", "echo quiet; exit 1"}},
	)
	ids := run(t, r, pod)
	for i, want := range []string{"bye", "custom", "one\ntwo\n", ""} {
		if c := waitExited(t, r, pod.UID, ids[i]); c.Message != want {
			t.Errorf("container %s: message %q, want %q", c.Name, c.Message, want)
		}
	}
}
