package daemonset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/workload"
)

// status counts, per node, whether the daemon should run there and what
// its oldest pod there is: scheduled, ready, available, updated.
func (d *daemon) status() appsv1.DaemonSetStatus {
	var st appsv1.DaemonSetStatus
	for _, node := range d.nodes {
		run, _ := d.place.on(node)
		pods := d.byNode[node.Name]
		if !run {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		p := pods[0] // oldest first
		if workload.Ready(p) {
			st.NumberReady++
			if d.available(p) {
				st.NumberAvailable++
			}
		}
		if d.updated(p) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}

// writeStatus writes the counts, the collision count and, if observed, the
// generation, unless nothing changed.
func (c *Controller) writeStatus(ctx context.Context, ds *appsv1.DaemonSet, st appsv1.DaemonSetStatus, collisions int32, observed bool) error {
	st.ObservedGeneration = ds.Status.ObservedGeneration
	if observed {
		st.ObservedGeneration = ds.Generation
	}
	st.Conditions = ds.Status.Conditions
	if collisions != 0 || ds.Status.CollisionCount != nil {
		st.CollisionCount = &collisions
	}
	if equality.Semantic.DeepEqual(ds.Status, st) {
		return nil
	}
	updated := ds.DeepCopy()
	updated.Status = st
	sets := c.client.AppsV1().DaemonSets(ds.Namespace)
	_, err := sets.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// The cache is behind (often our own last write): the status is
		// ours to set, so write it onto the latest version once.
		if updated, err = sets.Get(ctx, ds.Name, metav1.GetOptions{}); err == nil && updated.UID == ds.UID {
			updated.Status = st
			_, err = sets.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		}
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update status of daemonset %s: %w", klog.KObj(ds), err)
	}
	return nil
}
