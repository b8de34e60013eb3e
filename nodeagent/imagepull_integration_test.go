package nodeagent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/kubelite/kubelite/cmd/kubelite/app/testserver"
	"github.com/kubelite/kubelite/nodeagent"
	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// TestImagePullBackOff: a container whose image cannot be pulled waits in
// ErrImagePull, then in ImagePullBackOff with upstream's message, and its
// pull is tried again, each time ErrImagePull then ImagePullBackOff.
func TestImagePullBackOff(t *testing.T) {
	s := testserver.Start(t)
	c := s.Client
	ctx := context.Background()
	node := nodeagent.SimulatedNodeConfig("sim-pull", 0, false)
	startAgent(t, t, c, node, newRuntime(t, node))
	s.CreateNamespace(t, "pull")

	pod := newPod("nopull", node.Name)
	pod.Annotations = map[string]string{simulated.AnnotationPrefix + "app": "pull=fail"}
	w, err := c.CoreV1().Pods("pull").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "nopull").String()})
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
				if !strings.HasPrefix(wt.Message, `Failed to pull image "registry.k8s.io/pause:3.10": `) {
					t.Errorf("ErrImagePull message %q", wt.Message)
				}
			case "ImagePullBackOff":
				if !strings.HasPrefix(wt.Message, `Back-off pulling image "registry.k8s.io/pause:3.10": Failed to pull image`) {
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
