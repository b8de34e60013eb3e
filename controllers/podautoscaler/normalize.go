package podautoscaler

import (
	"math"
	"sync"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// recommendations remembers each HPA's recent proposals, so that a scale
// down waits until no higher proposal was made within the window.
type recommendations struct {
	clock  clock.PassiveClock
	window time.Duration

	mu   sync.Mutex
	recs map[string][]recommendation
}

type recommendation struct {
	at       time.Time
	replicas int32
}

func newRecommendations(clk clock.PassiveClock, window time.Duration) *recommendations {
	return &recommendations{clock: clk, window: window, recs: map[string][]recommendation{}}
}

// init records the current count as the first recommendation of an HPA.
func (r *recommendations) init(key string, current int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.recs[key]; !ok {
		r.recs[key] = []recommendation{{r.clock.Now(), current}}
	}
}

func (r *recommendations) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.recs, key)
}

// stabilize records proposal and returns the highest recommendation within
// the window.
func (r *recommendations) stabilize(key string, proposal int32) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	highest := proposal
	kept := []recommendation{{now, proposal}}
	for _, rec := range r.recs[key] {
		if rec.at.After(now.Add(-r.window)) {
			highest = max(highest, rec.replicas)
			kept = append(kept, rec)
		}
	}
	r.recs[key] = kept
	return highest
}

// normalize stabilizes a proposal and bounds it by minReplicas, maxReplicas
// and the scale-up limit (twice the current count, at least 4), setting the
// AbleToScale and ScalingLimited conditions as upstream.
func (c *Controller) normalize(key string, hpa *autoscalingv2.HorizontalPodAutoscaler, current, proposal, minReplicas int32) int32 {
	stable := c.recs.stabilize(key, proposal)
	if stable != proposal {
		c.setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation")
	} else {
		c.setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", "recommended size matches current size")
	}
	upLimit := int32(math.Max(2*float64(current), 4))
	maxAllowed := min(hpa.Spec.MaxReplicas, upLimit)
	desired := stable
	reason, msg := "DesiredWithinRange", "the desired count is within the acceptable range"
	switch {
	case stable < minReplicas:
		desired, reason, msg = minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
	case stable > maxAllowed && upLimit < hpa.Spec.MaxReplicas:
		desired, reason, msg = maxAllowed, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
	case stable > maxAllowed:
		desired, reason, msg = maxAllowed, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
	}
	status := corev1.ConditionFalse
	if desired != stable {
		status = corev1.ConditionTrue
	}
	c.setCondition(hpa, autoscalingv2.ScalingLimited, status, reason, "%s", msg)
	return desired
}
