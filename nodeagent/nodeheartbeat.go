package nodeagent

import (
	"context"
	"time"

	"k8s.io/klog/v2"
)

// run heartbeats until ctx ends: every nodeStatusUpdateFrequency it renews
// the Lease, then syncs the status. The first heartbeat comes after the
// node's phase (a fraction of the period derived from its name), so that
// thousands of nodes started together spread their requests evenly over the
// period; later ones keep that place in the period, skipping any that a slow
// heartbeat overran. Call it after register.
func (s *nodeStatus) run(ctx context.Context) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "node", klog.KRef("", s.cfg.Node.Name))
	ctx = klog.NewContext(ctx, logger)
	period := s.period
	offset := time.Duration(s.phase * float64(period))
	next := s.cfg.Clock.Now().Add(offset)
	timer := s.cfg.Clock.NewTimer(offset)
	defer timer.Stop()
	var lastRenew time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		lastRenew = s.heartbeat(ctx, lastRenew)
		now := s.cfg.Clock.Now()
		for !next.After(now) {
			next = next.Add(period)
		}
		timer.Reset(next.Sub(now))
	}
}

// heartbeat renews the Lease and syncs the status once, each with at most one
// period's time. It returns when the Lease was last renewed. If the Lease went
// unrenewed for more than two periods, the node lifecycle controller may have
// marked the Node's conditions Unknown: the status is written (a conflict
// with the controller's write re-reads it).
func (s *nodeStatus) heartbeat(ctx context.Context, lastRenew time.Time) time.Time {
	logger := klog.FromContext(ctx)
	ctx, cancel := context.WithTimeout(ctx, nodeStatusUpdateFrequency)
	defer cancel()
	if node := s.node(); node != nil {
		if err := s.lease.renew(ctx, node); err != nil {
			logger.Error(err, "Unable to renew node lease")
		} else {
			now := s.cfg.Clock.Now()
			if !lastRenew.IsZero() && now.Sub(lastRenew) > 2*s.period {
				s.lastReport = time.Time{}
			}
			lastRenew = now
		}
	}
	if err := s.syncStatus(ctx); err != nil {
		logger.Error(err, "Unable to update node status")
	}
	return lastRenew
}
