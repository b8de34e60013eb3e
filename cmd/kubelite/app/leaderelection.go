package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// Upstream's leader election for kube-scheduler and kube-controller-manager:
// a Lease in kube-system named after the component, held for 15 s, renewed
// within 10 s, retried every 2 s.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// runElected calls run while this process holds the Lease kube-system/lease,
// until ctx ends: of several processes on one cluster, one runs. Losing the
// Lease cancels run's context, and the election starts again. identity
// names this process in the Lease; `kubelite server` keeps it the same
// across restarts on the same data dir (see serverIdentity), so that a
// restarted server takes its Lease back at once rather than waiting for it to
// expire. The Lease is released on a clean stop, when the API server still
// answers.
func runElected(ctx context.Context, client kubernetes.Interface, lease, identity string, run func(context.Context) error) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: lease},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	logger := klog.FromContext(ctx).WithValues("lease", lease)
	for ctx.Err() == nil {
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   leaseDuration,
			RenewDeadline:   renewDeadline,
			RetryPeriod:     retryPeriod,
			ReleaseOnCancel: true,
			Name:            lease,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					logger.Info("Lease acquired", "identity", identity)
					if err := run(ctx); err != nil {
						logger.Error(err, "Stopped while leading")
					}
				},
				OnStoppedLeading: func() { logger.Info("Lease lost or released", "identity", identity) },
			},
		})
		if err != nil {
			return fmt.Errorf("leader election on %s: %w", lease, err)
		}
		elector.Run(ctx)
	}
	return nil
}

// serverIdentity is a server's name in its components' Leases: the host
// name and a hash of the data dir, the same across restarts.
func serverIdentity(dataDir string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(dataDir))
	return fmt.Sprintf("%s_%x", host, sum[:6])
}
