package replicaset

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name),
		CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}}
	p.Status.Phase = corev1.PodPending
	for _, o := range opts {
		o(p)
	}
	return p
}

func onNode(n string) podOpt          { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(ago time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(now.Add(-ago)) }
}
func restartCount(n int32) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: n}} }
}
func cost(v string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{DeletionCostAnnotation: v} }
}
func readyFor(ago time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now.Add(-ago))}}
	}
}

func TestPodsToDelete(t *testing.T) {
	cases := []struct {
		name    string
		pods    []*corev1.Pod
		related []*corev1.Pod
		want    string // the pod deleted first
	}{
		{"unscheduled first", []*corev1.Pod{pod("a", onNode("n")), pod("b")}, nil, "b"},
		{"pending before running", []*corev1.Pod{pod("a", onNode("n"), phase(corev1.PodRunning)), pod("b", onNode("n"))}, nil, "b"},
		{"unknown before running", []*corev1.Pod{pod("a", onNode("n"), phase(corev1.PodRunning)), pod("b", onNode("n"), phase(corev1.PodUnknown))}, nil, "b"},
		{"not ready before ready", []*corev1.Pod{pod("a", readyFor(time.Minute)), pod("b")}, nil, "b"},
		{"lower deletion cost first", []*corev1.Pod{pod("a", cost("5")), pod("b", cost("-1")), pod("c", cost("x"))}, nil, "b"},
		{"crowded node first", []*corev1.Pod{pod("a", onNode("n1")), pod("b", onNode("n2"))},
			[]*corev1.Pod{pod("a", onNode("n1")), pod("b", onNode("n2")), pod("c", onNode("n2"))}, "b"},
		{"recently ready first", []*corev1.Pod{pod("a", readyFor(time.Hour)), pod("b", readyFor(time.Minute))}, nil, "b"},
		{"more restarts first", []*corev1.Pod{pod("a", restartCount(1)), pod("b", restartCount(3))}, nil, "b"},
		{"newer first", []*corev1.Pod{pod("a", created(time.Hour)), pod("b", created(time.Minute))}, nil, "b"},
		{"same age bucket: by uid", []*corev1.Pod{pod("b", created(time.Hour)), pod("a", created(time.Hour+time.Second))}, nil, "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			related := tc.related
			if related == nil {
				related = tc.pods
			}
			got := podsToDelete(tc.pods, related, 1, now)
			if len(got) != 1 || got[0].Name != tc.want {
				t.Errorf("deleted first = %s, want %s", got[0].Name, tc.want)
			}
		})
	}
	all := []*corev1.Pod{pod("a"), pod("b")}
	if got := podsToDelete(all, all, 5, now); len(got) != 2 {
		t.Errorf("deleting more than there are = %d pods, want 2", len(got))
	}
}

func TestAvailable(t *testing.T) {
	cases := []struct {
		name     string
		pod      *corev1.Pod
		minReady int32
		ok       bool
		left     time.Duration
	}{
		{"not ready", pod("a"), 0, false, 0},
		{"ready, no minReadySeconds", pod("a", readyFor(0)), 0, true, 0},
		{"ready long enough", pod("a", readyFor(time.Minute)), 30, true, 0},
		{"ready, not long enough", pod("a", readyFor(10*time.Second)), 30, false, 20 * time.Second},
	}
	for _, tc := range cases {
		ok, left := available(tc.pod, tc.minReady, now)
		if ok != tc.ok || left != tc.left {
			t.Errorf("%s: available = %v, %v; want %v, %v", tc.name, ok, left, tc.ok, tc.left)
		}
	}
}

func TestSlowStart(t *testing.T) {
	cases := []struct {
		name      string
		count     int
		failAfter int // calls that succeed before every call fails; -1: none fails
		want      int
		wantCalls int
	}{
		{"all succeed", 10, -1, 10, 10},
		{"first fails", 10, 0, 0, 1},
		{"third batch fails", 10, 3, 3, 7}, // batches 1, 2, 4
		{"nothing to do", 0, -1, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := make(chan struct{}, 100)
			got, err := slowStart(tc.count, func() error {
				calls <- struct{}{}
				if tc.failAfter >= 0 && len(calls) > tc.failAfter {
					return errors.New("quota exceeded")
				}
				return nil
			})
			if diff := cmp.Diff([]int{tc.want, tc.wantCalls}, []int{got, len(calls)}); diff != "" {
				t.Errorf("successes, calls (-want +got):\n%s", diff)
			}
			if (err != nil) != (tc.failAfter >= 0 && tc.count > 0) {
				t.Errorf("err = %v", err)
			}
		})
	}
}
