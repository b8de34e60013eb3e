package deployment

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
)

// scalingEvent reports whether the Deployment's replicas changed since its
// active ReplicaSets were last scaled (their desired-replicas annotation).
func scalingEvent(d *appsv1.Deployment, r *rollout) bool {
	for _, rs := range r.all() {
		if replicas(rs.Spec.Replicas) == 0 {
			continue
		}
		v, err := strconv.ParseInt(rs.Annotations[DesiredReplicasAnnotation], 10, 32)
		if err == nil && int32(v) != desired(d) {
			return true
		}
	}
	return false
}

// scale resizes the Deployment's ReplicaSets to its replicas without
// rolling out: for a paused Deployment and for a scaling event. With one
// active set (or none) that set (or the newest) takes all replicas; when the
// current set already has all its replicas available, the old ones go to
// zero; otherwise, in a rolling update, the change is spread over the active
// sets in proportion to their size.
func (c *Controller) scale(ctx context.Context, r *rollout) error {
	if err := c.ensureNewRS(ctx, r, false); err != nil {
		return err
	}
	d := r.d
	var active []*appsv1.ReplicaSet
	for _, rs := range r.all() {
		if replicas(rs.Spec.Replicas) > 0 {
			active = append(active, rs)
		}
	}
	switch {
	case len(active) <= 1:
		target := r.newRS
		if len(active) == 1 {
			target = active[0]
		} else if target == nil && len(r.old) > 0 {
			target = r.old[len(r.old)-1] // newest
		}
		if target != nil {
			if err := c.resize(ctx, r, target, desired(d)); err != nil {
				return err
			}
		}
	case r.newRS != nil && replicas(r.newRS.Spec.Replicas) == desired(d) && r.newRS.Status.AvailableReplicas == desired(d):
		for _, rs := range active {
			if rs != r.newRS {
				if err := c.resize(ctx, r, rs, 0); err != nil {
					return err
				}
			}
		}
	case d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType:
		sizes := proportions(d, active)
		for _, rs := range active {
			if err := c.resize(ctx, r, rs, sizes[rs.Name]); err != nil {
				return err
			}
		}
	}
	if d.Spec.Paused && complete(d, r.newRS, r.all()) {
		if err := c.cleanup(ctx, r); err != nil {
			return err
		}
	}
	return c.writeStatus(ctx, r, false)
}

// resize scales rs and puts the updated object in the rollout.
func (c *Controller) resize(ctx context.Context, r *rollout, rs *appsv1.ReplicaSet, n int32) error {
	saved, err := c.scaleReplicaSet(ctx, r.d, rs, n)
	if err != nil {
		return err
	}
	if rs == r.newRS {
		r.newRS = saved
		return nil
	}
	if i := slices.Index(r.old, rs); i >= 0 {
		r.old[i] = saved
	}
	return nil
}

// proportions spreads the difference between the pods the Deployment may
// have (replicas plus maxSurge) and the active sets' replicas over those
// sets, each in proportion to its share of the size they were scaled for
// (max-replicas annotation). Larger sets go first, newer ones among equals
// when growing, older ones when shrinking; what rounding leaves over goes
// to the first.
func proportions(d *appsv1.Deployment, active []*appsv1.ReplicaSet) map[string]int32 {
	surge, _ := limits(d)
	allowed := int32(0)
	if desired(d) > 0 {
		allowed = desired(d) + surge
	}
	toAdd := allowed - specTotal(active)
	sorted := slices.Clone(active)
	slices.SortStableFunc(sorted, func(a, b *appsv1.ReplicaSet) int {
		if c := cmp.Compare(replicas(b.Spec.Replicas), replicas(a.Spec.Replicas)); c != 0 {
			return c
		}
		if toAdd > 0 {
			return -oldestFirst(a, b)
		}
		return oldestFirst(a, b)
	})
	sizes := map[string]int32{}
	var added int32
	for _, rs := range sorted {
		have := replicas(rs.Spec.Replicas)
		share := int32(0)
		if toAdd != 0 {
			share = fraction(d, rs, allowed)
			if toAdd > 0 {
				share = min(share, toAdd-added)
			} else {
				share = max(share, toAdd-added)
			}
		}
		sizes[rs.Name] = have + share
		added += share
	}
	if len(sorted) > 0 && toAdd != 0 {
		first := sorted[0].Name
		sizes[first] = max(0, sizes[first]+toAdd-added)
	}
	return sizes
}

// fraction is how many replicas rs gains (or loses) if the Deployment goes
// from the size in rs's max-replicas annotation to allowed.
func fraction(d *appsv1.Deployment, rs *appsv1.ReplicaSet, allowed int32) int32 {
	have := replicas(rs.Spec.Replicas)
	if desired(d) == 0 {
		return -have
	}
	before, err := strconv.ParseInt(rs.Annotations[MaxReplicasAnnotation], 10, 32)
	if err != nil || before == 0 {
		before = int64(d.Status.Replicas)
		if before == 0 {
			return 0
		}
	}
	return int32(math.Round(float64(have)*float64(allowed)/float64(before))) - have
}
