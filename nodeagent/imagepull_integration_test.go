package nodeagent_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// TestImagePullBackOff: a container whose image cannot be pulled waits in
// ErrImagePull, then in ImagePullBackOff with upstream's message, and its
// pull is tried again, each time ErrImagePull then ImagePullBackOff: for a
// pull failure the pod's annotation asks for, and for an image the node's
// runtime has as missing (--simulated-missing-images), with containerd's
// "not found".
func TestImagePullBackOff(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client
	node := nodeagent.SimulatedNodeConfig("sim-pull", 0, false)
	rt, err := simulated.New(simulated.Config{PodCIDRs: node.PodCIDRs, MissingImages: []string{"webserver:404"}})
	if err != nil {
		t.Fatal(err)
	}
	startAgent(t, t, c, node, rt)
	s.CreateNamespace(t, "pull")

	annotated := newPod("nopull", node.Name)
	annotated.Annotations = map[string]string{simulated.AnnotationPrefix + "app": "pull=fail"}
	t.Run("Annotation", func(t *testing.T) { checkPullBackOff(t, c, annotated, "registry.k8s.io/pause:3.10", "") })
	missing := newPod("missing", node.Name, corev1.Container{Name: "app", Image: "webserver:404"})
	t.Run("MissingImage", func(t *testing.T) {
		checkPullBackOff(t, c, missing, "webserver:404", `failed to resolve reference "docker.io/library/webserver:404": docker.io/library/webserver:404: not found`)
	})

	// The Node reports the images the node has (those present from the
	// start), and not the missing one.
	n, err := c.CoreV1().Nodes().Get(context.Background(), node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, img := range n.Status.Images {
		names = append(names, img.Names...)
	}
	if !slices.Contains(names, "registry.k8s.io/pause:3.10") || slices.Contains(names, "docker.io/library/webserver:404") {
		t.Errorf("node's images %v: want registry.k8s.io/pause:3.10, not webserver:404", names)
	}
}

func checkPullBackOff(t *testing.T, c kubernetes.Interface, pod *corev1.Pod, image, detail string) {
	ctx := context.Background()
	w, err := c.CoreV1().Pods("pull").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", pod.Name).String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := c.CoreV1().Pods("pull").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	timeout := time.After(30 * time.Second)
	for len(seen) < 4 {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
				continue
			}
			wt := p.Status.ContainerStatuses[0].State.Waiting
			if len(seen) > 0 && seen[len(seen)-1] == wt.Reason {
				continue
			}
			seen = append(seen, wt.Reason)
			switch wt.Reason {
			case "ErrImagePull":
				if !strings.HasPrefix(wt.Message, `Failed to pull image "`+image+`": `) || !strings.HasSuffix(wt.Message, detail) {
					t.Errorf("ErrImagePull message %q", wt.Message)
				}
			case "ImagePullBackOff":
				if !strings.HasPrefix(wt.Message, `Back-off pulling image "`+image+`": Failed to pull image`) {
					t.Errorf("ImagePullBackOff message %q", wt.Message)
				}
			}
		case <-timeout:
			t.Fatalf("waiting reasons seen %q, want ErrImagePull and ImagePullBackOff twice", seen)
		}
	}
	if want := "ErrImagePull,ImagePullBackOff,ErrImagePull,ImagePullBackOff"; strings.Join(seen, ",") != want {
		t.Errorf("waiting reasons %q, want %s", seen, want)
	}
}
