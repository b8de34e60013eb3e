package scheduler

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// preempt is a placeholder until preemption is written: it says, as
// upstream does when preemption cannot help, why.
func (s *Scheduler) preempt(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, _ *fitError) {
}
