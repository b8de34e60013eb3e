package suite

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/kubelite/kubelite/nodeagent/runtime"
)

// exitAfter is how long the suite's exiting containers run.
const exitAfter = 100 * time.Millisecond

func testIdentity(h *harness) {
	typ := h.rt.Type()
	if typ == "" {
		h.t.Fatal("Type() is empty")
	}
	v, err := h.rt.Version(h.ctx)
	if err != nil {
		h.t.Fatalf("Version: %v", err)
	}
	if !strings.HasPrefix(v, typ+"://") || len(v) == len(typ)+3 {
		h.t.Errorf("Version() = %q, want %q and a version", v, typ+"://")
	}
}

func testSandbox(h *harness) {
	pod := h.newPod("sandbox")
	sb := h.runSandbox(pod)
	if len(sb.IPs) == 0 || !validIPs(sb.IPs) {
		h.t.Errorf("sandbox IPs = %v, want at least one address, none twice", sb.IPs)
	}
	again := h.runSandbox(pod)
	if again.ID != sb.ID || strings.Join(again.IPs, ",") != strings.Join(sb.IPs, ",") {
		h.t.Errorf("RunPodSandbox again = %+v, want the running %+v", again, sb)
	}
	s := h.status(pod.UID)
	if s.UID != pod.UID || s.Namespace != pod.Namespace || s.Name != pod.Name {
		h.t.Errorf("PodStatus identifies %s %s/%s, want %s %s/%s", s.UID, s.Namespace, s.Name, pod.UID, pod.Namespace, pod.Name)
	}
	if s.Sandbox == nil || s.Sandbox.ID != sb.ID || !s.Sandbox.Ready || len(s.Containers) != 0 {
		h.t.Errorf("PodStatus = %s, want the ready sandbox %s and no containers", describe(s), sb.ID)
	}
	pods, err := h.rt.ListPods(h.ctx)
	if err != nil {
		h.t.Fatalf("ListPods: %v", err)
	}
	if len(pods) != 1 || pods[0].UID != pod.UID {
		h.t.Errorf("ListPods returned %d pods, want just %s", len(pods), pod.UID)
	}
}

func testDistinctAddresses(h *harness) {
	var ips []string
	for i := range 5 {
		sb := h.runSandbox(h.newPod(fmt.Sprintf("ip-%d", i)))
		ips = append(ips, sb.IPs...)
	}
	if !validIPs(ips) {
		h.t.Errorf("sandbox addresses %v are not distinct addresses", ips)
	}
}

func testUnknown(h *harness) {
	uid := uuid.NewUUID()
	if s, err := h.rt.PodStatus(h.ctx, uid); s != nil || err != nil {
		h.t.Errorf("PodStatus(unknown) = %v, %v; want nil, nil", s, err)
	}
	if err := h.rt.StopPod(h.ctx, uid, time.Second); err != nil {
		h.t.Errorf("StopPod(unknown): %v", err)
	}
	if err := h.rt.RemovePod(h.ctx, uid); err != nil {
		h.t.Errorf("RemovePod(unknown): %v", err)
	}
	pod := h.newPod("unknown")
	h.addRunning(pod, "c")
	if err := h.rt.StopContainer(h.ctx, pod, "unknown", time.Second); err != nil {
		h.t.Errorf("StopContainer(unknown): %v", err)
	}
	if err := h.rt.RemoveContainer(h.ctx, "unknown"); err != nil {
		h.t.Errorf("RemoveContainer(unknown): %v", err)
	}
	if _, err := h.rt.StartContainer(h.ctx, pod, &pod.Spec.Containers[0], 0); err == nil {
		h.t.Error("StartContainer without a sandbox succeeded")
	}
}

func testStartContainer(h *harness) {
	pod := h.newPod("start")
	h.addRunning(pod, "main")
	h.runSandbox(pod)
	c := &pod.Spec.Containers[0]
	id, ref := h.start(pod, c, 0)
	if ref == "" {
		h.t.Error("PullImage returned an empty reference")
	}
	s := h.waitFor(pod.UID, "container running", func(s *runtime.PodStatus) bool {
		ct := container(s, id)
		return ct != nil && ct.State == runtime.StateRunning
	})
	ct := container(s, id)
	if ct.Name != "main" || ct.Attempt != 0 || ct.Image != c.Image || ct.ImageRef != ref {
		h.t.Errorf("container = %+v, want main attempt 0 of %s (%s)", ct, c.Image, ref)
	}
	if ct.CreatedAt.IsZero() || ct.StartedAt.IsZero() || !ct.FinishedAt.IsZero() || ct.StartedAt.Before(ct.CreatedAt) {
		h.t.Errorf("container times created %v started %v finished %v, want created <= started, not finished", ct.CreatedAt, ct.StartedAt, ct.FinishedAt)
	}
	again, err := h.rt.StartContainer(h.ctx, pod, c, 0)
	if err != nil || again != id {
		h.t.Errorf("StartContainer of the same attempt = %q, %v; want %q", again, err, id)
	}
	if n := len(h.status(pod.UID).Containers); n != 1 {
		h.t.Errorf("pod holds %d containers after starting one attempt twice, want 1", n)
	}
}

func testExit(h *harness) {
	for _, tc := range []struct {
		code   int32
		reason string
	}{
		{0, "Completed"},
		{1, "Error"},
		{3, "Error"},
	} {
		pod := h.newPod(fmt.Sprintf("exit-%d", tc.code))
		h.addExiting(pod, "main", tc.code, exitAfter)
		h.runSandbox(pod)
		id, _ := h.start(pod, &pod.Spec.Containers[0], 0)
		s := h.waitFor(pod.UID, "container exited", exited(id))
		ct := container(s, id)
		if ct.ExitCode != tc.code || ct.Reason != tc.reason {
			h.t.Errorf("exit %d: container exited with %d %q, want %d %q", tc.code, ct.ExitCode, ct.Reason, tc.code, tc.reason)
		}
		if ct.StartedAt.IsZero() || ct.FinishedAt.Before(ct.StartedAt) {
			h.t.Errorf("exit %d: started %v finished %v, want finished after started", tc.code, ct.StartedAt, ct.FinishedAt)
		}
		if h.signalled(pod.UID) == 0 {
			h.t.Errorf("exit %d: subscribers did not hear of the pod", tc.code)
		}
	}
}

func testAttemptsKept(h *harness) {
	pod := h.newPod("attempts")
	h.addExiting(pod, "main", 1, exitAfter)
	h.runSandbox(pod)
	c := &pod.Spec.Containers[0]
	first, _ := h.start(pod, c, 0)
	h.waitFor(pod.UID, "attempt 0 exited", exited(first))
	second, _ := h.start(pod, c, 1)
	if second == first {
		h.t.Fatalf("attempts 0 and 1 share the ID %s", first)
	}
	s := h.status(pod.UID)
	if a, b := container(s, first), container(s, second); a == nil || b == nil || a.Attempt != 0 || b.Attempt != 1 {
		h.t.Fatalf("pod holds %s, want attempts 0 (exited) and 1", describe(s))
	}
	h.waitFor(pod.UID, "attempt 1 exited", exited(second))
	if err := h.rt.RemoveContainer(h.ctx, first); err != nil {
		h.t.Fatalf("RemoveContainer(attempt 0): %v", err)
	}
	s = h.status(pod.UID)
	if len(s.Containers) != 1 || s.Containers[0].ID != second {
		h.t.Errorf("after removing attempt 0 the pod holds %s, want attempt 1 only", describe(s))
	}
	if err := h.rt.RemoveContainer(h.ctx, first); err != nil {
		h.t.Errorf("RemoveContainer again: %v", err)
	}
}

func testStopContainer(h *harness) {
	pod := h.newPod("stop-container")
	h.addRunning(pod, "main")
	h.runSandbox(pod)
	id, _ := h.start(pod, &pod.Spec.Containers[0], 0)
	if err := h.rt.RemoveContainer(h.ctx, id); err == nil {
		h.t.Error("RemoveContainer of a running container succeeded")
	}
	if err := h.rt.StopContainer(h.ctx, pod, id, 10*time.Second); err != nil {
		h.t.Fatalf("StopContainer: %v", err)
	}
	s := h.waitFor(pod.UID, "container exited", exited(id))
	if ct := container(s, id); ct.FinishedAt.IsZero() || ct.Reason == "" {
		h.t.Errorf("stopped container %+v, want a finish time and a reason", ct)
	}
	if s.Sandbox == nil || !s.Sandbox.Ready {
		h.t.Errorf("sandbox %+v after stopping one container, want it ready", s.Sandbox)
	}
	if err := h.rt.StopContainer(h.ctx, pod, id, 10*time.Second); err != nil {
		h.t.Errorf("StopContainer again: %v", err)
	}
	if err := h.rt.RemoveContainer(h.ctx, id); err != nil {
		h.t.Fatalf("RemoveContainer: %v", err)
	}
	if s := h.status(pod.UID); len(s.Containers) != 0 {
		h.t.Errorf("pod holds %s after RemoveContainer, want nothing", describe(s))
	}
}

func testStopPod(h *harness) {
	pod := h.newPod("stop-pod")
	h.addRunning(pod, "a")
	h.addRunning(pod, "b")
	h.addExiting(pod, "done", 0, 0)
	h.runSandbox(pod)
	var ids []string
	for i := range pod.Spec.Containers {
		id, _ := h.start(pod, &pod.Spec.Containers[i], 0)
		ids = append(ids, id)
	}
	h.waitFor(pod.UID, "container done exited", exited(ids[2]))
	if err := h.rt.StopPod(h.ctx, pod.UID, 10*time.Second); err != nil {
		h.t.Fatalf("StopPod: %v", err)
	}
	s := h.waitFor(pod.UID, "pod stopped", stopped)
	if len(s.Containers) != 3 || s.Sandbox == nil {
		h.t.Errorf("stopped pod holds %s, want its sandbox and 3 containers kept", describe(s))
	}
	if _, err := h.rt.StartContainer(h.ctx, pod, &pod.Spec.Containers[0], 1); err == nil {
		h.t.Error("StartContainer in a stopped sandbox succeeded")
	}
	if err := h.rt.StopPod(h.ctx, pod.UID, 10*time.Second); err != nil {
		h.t.Errorf("StopPod again: %v", err)
	}
	if err := h.rt.RemovePod(h.ctx, pod.UID); err != nil {
		h.t.Fatalf("RemovePod: %v", err)
	}
	if s, err := h.rt.PodStatus(h.ctx, pod.UID); s != nil || err != nil {
		h.t.Errorf("PodStatus after RemovePod = %s, %v; want nil, nil", describe(s), err)
	}
	if pods, err := h.rt.ListPods(h.ctx); err != nil || len(pods) != 0 {
		h.t.Errorf("ListPods after RemovePod = %d pods, %v; want none", len(pods), err)
	}
	if err := h.rt.RemovePod(h.ctx, pod.UID); err != nil {
		h.t.Errorf("RemovePod again: %v", err)
	}
}

func testRemoveRunningPod(h *harness) {
	pod := h.newPod("remove-running")
	h.addRunning(pod, "main")
	h.runSandbox(pod)
	h.start(pod, &pod.Spec.Containers[0], 0)
	if err := h.rt.RemovePod(h.ctx, pod.UID); err == nil {
		h.t.Error("RemovePod of a running pod succeeded")
	}
	h.status(pod.UID)
}

func testSandboxAfterStop(h *harness) {
	pod := h.newPod("sandbox-again")
	first := h.runSandbox(pod)
	if err := h.rt.StopPod(h.ctx, pod.UID, time.Second); err != nil {
		h.t.Fatalf("StopPod: %v", err)
	}
	h.waitFor(pod.UID, "pod stopped", stopped)
	second := h.runSandbox(pod)
	if second.ID == first.ID {
		h.t.Errorf("RunPodSandbox after StopPod returned the stopped sandbox %s, want a new one", first.ID)
	}
}

func testProbe(h *harness) {
	pod := h.newPod("probe")
	h.addRunning(pod, "ok")
	h.addRunning(pod, "bad")
	h.opts.ReadinessProbe(pod, &pod.Spec.Containers[0], true)
	h.opts.ReadinessProbe(pod, &pod.Spec.Containers[1], false)
	h.runSandbox(pod)
	for i, want := range []runtime.ProbeResult{runtime.ProbeSuccess, runtime.ProbeFailure} {
		c := &pod.Spec.Containers[i]
		id, _ := h.start(pod, c, 0)
		h.waitFor(pod.UID, "container running", func(s *runtime.PodStatus) bool {
			ct := container(s, id)
			return ct != nil && ct.State == runtime.StateRunning
		})
		if got, msg, err := h.rt.Probe(h.ctx, pod, id, c.ReadinessProbe); err != nil || got != want {
			h.t.Errorf("Probe(%s) = %v %q %v, want %v", c.Name, got, msg, err, want)
		}
		if err := h.rt.StopContainer(h.ctx, pod, id, time.Second); err != nil {
			h.t.Fatalf("StopContainer: %v", err)
		}
		h.waitFor(pod.UID, "container exited", exited(id))
		if err := h.rt.RemoveContainer(h.ctx, id); err != nil {
			h.t.Fatalf("RemoveContainer: %v", err)
		}
		if got, msg, _ := h.rt.Probe(h.ctx, pod, id, c.ReadinessProbe); got != runtime.ProbeUnknown {
			h.t.Errorf("Probe(%s) of a removed container = %v %q, want unknown", c.Name, got, msg)
		}
	}
}

func testConcurrent(h *harness) {
	const pods = 16
	var wg sync.WaitGroup
	errs := make(chan error, pods)
	for i := range pods {
		wg.Go(func() {
			pod := h.newPod(fmt.Sprintf("concurrent-%d", i))
			h.addRunning(pod, "main")
			h.addExiting(pod, "quick", 0, 0)
			err := func() error {
				if _, err := h.rt.RunPodSandbox(h.ctx, pod); err != nil {
					return err
				}
				for j := range pod.Spec.Containers {
					c := &pod.Spec.Containers[j]
					if _, err := h.rt.PullImage(h.ctx, pod, c); err != nil {
						return err
					}
					if _, err := h.rt.StartContainer(h.ctx, pod, c, 0); err != nil {
						return err
					}
				}
				if _, err := h.rt.ListPods(h.ctx); err != nil {
					return err
				}
				return h.rt.StopPod(h.ctx, pod.UID, time.Second)
			}()
			if err != nil {
				errs <- fmt.Errorf("pod %d: %w", i, err)
				return
			}
			if _, err := h.await(pod.UID, "pod stopped", stopped); err != nil {
				errs <- fmt.Errorf("pod %d: %w", i, err)
				return
			}
			errs <- h.rt.RemovePod(h.ctx, pod.UID)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			h.t.Error(err)
		}
	}
	if left, err := h.rt.ListPods(h.ctx); err != nil || len(left) != 0 {
		h.t.Errorf("ListPods after removing all = %d pods, %v; want none", len(left), err)
	}
}

// testImages checks that a pulled image is listed, with its full tagged name
// and its digested name (which holds the reference PullImage returned),
// a size, and the list ordered largest first.
func testImages(h *harness) {
	pod := h.newPod("images")
	c := h.addRunning(pod, "main")
	ref, err := h.rt.PullImage(h.ctx, pod, c)
	if err != nil {
		h.t.Fatalf("PullImage(%s): %v", c.Image, err)
	}
	named, err := reference.ParseDockerRef(c.Image)
	if err != nil {
		h.t.Fatalf("image %q: %v", c.Image, err)
	}
	images, err := h.rt.ListImages(h.ctx)
	if err != nil {
		h.t.Fatalf("ListImages: %v", err)
	}
	var found *runtime.Image
	for i, img := range images {
		if i > 0 && img.Size > images[i-1].Size {
			h.t.Errorf("image %d (%v) is larger than the one before it: %d > %d", i, img.Names, img.Size, images[i-1].Size)
		}
		if slices.Contains(img.Names, named.String()) {
			found = &images[i]
		}
	}
	if found == nil {
		h.t.Fatalf("ListImages lists no image named %s after its pull: %+v", named, images)
	}
	h.t.Logf("listed %d images; %s: %v, %d bytes", len(images), named, found.Names, found.Size)
	digested := slices.ContainsFunc(found.Names, func(n string) bool {
		return n == ref || n == reference.TrimNamed(named).String()+"@"+ref
	})
	if !digested {
		h.t.Errorf("image %s: names %v, want one that is %s or <repository>@%s", named, found.Names, ref, ref)
	}
	if found.Size <= 0 {
		h.t.Errorf("image %s: size %d, want > 0", named, found.Size)
	}
}
