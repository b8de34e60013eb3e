package statefulset

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubelite/kubelite/controllers/internal/history"
)

// revisions is what a sync knows of a set's history.
type revisions struct {
	all             []*appsv1.ControllerRevision // oldest first
	current, update *appsv1.ControllerRevision
	collisions      int32
}

// revisions finds the set's current revision (the one its status names,
// or else the update revision) and its update revision (the one of its
// template now), creating or renumbering the latter as needed: a template
// equal to an older revision's (a rollback) makes that revision the newest
// again rather than a copy. Orphan revisions the selector matches are
// adopted first.
func (c *Controller) revisions(ctx context.Context, set *appsv1.StatefulSet, selector labels.Selector) (*revisions, error) {
	all, err := history.Owned(c.revs, set.Namespace, selector, set.UID)
	if err != nil {
		return nil, err
	}
	if err := c.adoptRevisions(ctx, set, all); err != nil {
		return nil, err
	}
	r := &revisions{all: all}
	if set.Status.CollisionCount != nil {
		r.collisions = *set.Status.CollisionCount
	}
	data, err := history.Patch(&set.Spec.Template)
	if err != nil {
		return nil, err
	}
	next := int64(1)
	if n := len(all); n > 0 {
		next = all[n-1].Revision + 1
	}
	var equal *appsv1.ControllerRevision
	for _, rev := range all {
		if bytes.Equal(rev.Data.Raw, data) {
			equal = rev // the newest equal one wins
		}
	}
	switch {
	case equal != nil && equal == all[len(all)-1]:
		r.update = equal
	case equal != nil:
		if r.update, err = history.Renumber(ctx, c.client, equal, next); err != nil {
			return nil, err
		}
	default:
		r.update, err = history.Create(ctx, c.client, history.Spec{
			Owner: set, Kind: kind,
			Labels: set.Spec.Template.Labels, HashLabel: appsv1.ControllerRevisionHashLabelKey,
			Annotations: set.Annotations,
			Data:        data, Revision: next,
			Hash: func(collisions *int32) string { return history.Hash(data, collisions) },
		}, &r.collisions)
		if err != nil {
			return nil, err
		}
	}
	r.current = r.update
	for _, rev := range all {
		if rev.Name == set.Status.CurrentRevision {
			r.current = rev
		}
	}
	return r, nil
}

// adoptRevisions makes the set the controller of the orphans among revs,
// replacing them in revs, after checking with the server that the set is
// still there and not being deleted.
func (c *Controller) adoptRevisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) error {
	checked := false
	var errs []error
	for i, rev := range revs {
		if metav1.GetControllerOfNoCopy(rev) != nil {
			continue
		}
		if !checked {
			checked = true
			fresh, err := c.fresh(ctx, set)
			if err != nil {
				return fmt.Errorf("recheck before adopting revisions: %w", err)
			}
			if fresh.GetUID() != set.UID || fresh.GetDeletionTimestamp() != nil {
				return fmt.Errorf("statefulset %s/%s is gone or being deleted: not adopting revisions", set.Namespace, set.Name)
			}
		}
		adopted, err := history.Adopt(ctx, c.client, set, kind, rev)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		revs[i] = adopted
	}
	return errors.Join(errs...)
}

// fresh reads the set from the server, not the cache.
func (c *Controller) fresh(ctx context.Context, set *appsv1.StatefulSet) (metav1.Object, error) {
	got, err := c.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return got, nil
}

// truncateHistory deletes the oldest revisions beyond the set's
// revisionHistoryLimit that neither the set's status nor any pod uses.
func (c *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, r *revisions) error {
	live := map[string]bool{r.current.Name: true, r.update.Name: true}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	limit := int32(10)
	if set.Spec.RevisionHistoryLimit != nil {
		limit = *set.Spec.RevisionHistoryLimit
	}
	err := history.Truncate(ctx, c.client, r.all, live, limit)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
