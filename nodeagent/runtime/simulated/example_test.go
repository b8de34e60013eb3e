package simulated_test

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kubelite/kubelite/nodeagent/runtime/simulated"
)

// A pod whose init container fails, made so by an annotation, on a fake
// clock.
func Example() {
	ctx := context.Background()
	clk := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r, err := simulated.New(simulated.Config{Clock: clk, PodCIDRs: []string{"10.244.7.0/24"}})
	if err != nil {
		panic(err)
	}
	r.Subscribe(func(uid types.UID) { fmt.Println("changed:", uid) })

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: "web", UID: "uid-1",
			Annotations: map[string]string{simulated.AnnotationPrefix + "setup": "exit=1,after=2s"},
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "setup", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "web", Image: "nginx"}},
		},
	}
	sb, _ := r.RunPodSandbox(ctx, pod)
	fmt.Println("pod IP:", sb.IPs[0])
	id, _ := r.StartContainer(ctx, pod, &pod.Spec.InitContainers[0], 0)
	clk.Step(2 * time.Second)
	s, _ := r.PodStatus(ctx, pod.UID)
	for _, c := range s.Containers {
		if c.ID == id {
			fmt.Println(c.Name, c.State, c.ExitCode, c.Reason)
		}
	}
	// Output:
	// pod IP: 10.244.7.2
	// changed: uid-1
	// setup Exited 1 Error
}
