package deployment

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/klog/v2"
)

// Annotations the controller keeps on a Deployment's ReplicaSets, with
// upstream's names so that kubectl rollout history reads them.
const (
	// RevisionAnnotation is the rollout revision of a ReplicaSet, and on the
	// Deployment that of its current ReplicaSet.
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	// RevisionHistoryAnnotation lists the earlier revisions a ReplicaSet had
	// before a rollback made it current again.
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	// DesiredReplicasAnnotation is the Deployment's replicas when the
	// ReplicaSet was last scaled.
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	// MaxReplicasAnnotation is the Deployment's replicas plus maxSurge when
	// the ReplicaSet was last scaled; proportional scaling starts from it.
	MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
)

// notCopied are the Deployment annotations a ReplicaSet does not inherit.
func notCopied(key string) bool {
	switch key {
	case corev1.LastAppliedConfigAnnotation, RevisionAnnotation, RevisionHistoryAnnotation,
		DesiredReplicasAnnotation, MaxReplicasAnnotation, appsv1.DeprecatedRollbackTo:
		return true
	}
	return false
}

// claimReplicaSets returns the ReplicaSets the Deployment owns once it has
// adopted the orphans its selector matches and released those it owns that
// no longer match, oldest first.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	all, err := c.replicaSets.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var owned []*appsv1.ReplicaSet
	checked, canAdopt := false, false
	for _, rs := range all {
		ref := metav1.GetControllerOfNoCopy(rs)
		matches := sel.Matches(labels.Set(rs.Labels))
		switch {
		case ref != nil && ref.UID != d.UID:
			continue
		case ref != nil && matches:
			owned = append(owned, rs)
			continue
		case ref != nil:
			if d.DeletionTimestamp == nil {
				refs := slices.DeleteFunc(slices.Clone(rs.OwnerReferences), func(r metav1.OwnerReference) bool { return r.UID == d.UID })
				if err := c.setOwners(ctx, rs, refs); err != nil {
					return nil, err
				}
			}
			continue
		case !matches || d.DeletionTimestamp != nil || rs.DeletionTimestamp != nil:
			continue
		}
		if !checked {
			checked = true
			fresh, err := c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("recheck deployment %s before adopting: %w", klog.KObj(d), err)
			}
			canAdopt = err == nil && fresh.UID == d.UID && fresh.DeletionTimestamp == nil
		}
		if !canAdopt {
			continue
		}
		refs := append(slices.Clone(rs.OwnerReferences), *metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment")))
		if err := c.setOwners(ctx, rs, refs); err != nil {
			return nil, err
		}
		owned = append(owned, rs)
	}
	slices.SortStableFunc(owned, oldestFirst)
	return owned, nil
}

func oldestFirst(a, b *appsv1.ReplicaSet) int {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		if a.CreationTimestamp.Before(&b.CreationTimestamp) {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.Name, b.Name)
}

// setOwners replaces a ReplicaSet's owner references, bound to the uid and
// resource version it was decided for.
func (c *Controller) setOwners(ctx context.Context, rs *appsv1.ReplicaSet, refs []metav1.OwnerReference) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "uid": rs.UID, "resourceVersion": rs.ResourceVersion,
	}})
	if err != nil {
		return err
	}
	_, err = c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("set owners of replica set %s: %w", klog.KObj(rs), err)
	}
	return nil
}

// split returns the ReplicaSet whose template is the Deployment's (the
// oldest if several are), and the others.
func split(d *appsv1.Deployment, owned []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
	var newRS *appsv1.ReplicaSet
	var old []*appsv1.ReplicaSet
	for _, rs := range owned {
		if newRS == nil && sameTemplate(&rs.Spec.Template, &d.Spec.Template) {
			newRS = rs
			continue
		}
		old = append(old, rs)
	}
	return newRS, old
}

// sameTemplate compares pod templates ignoring the pod-template-hash label.
func sameTemplate(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return equality.Semantic.DeepEqual(a, b)
}

// templateHash names a pod template: the pod-template-hash label value and
// the suffix of the ReplicaSet's name. collisions changes it when a name is
// already taken by a ReplicaSet with another template.
func templateHash(t *corev1.PodTemplateSpec, collisions *int32) string {
	h := fnv.New32a()
	data, _ := json.Marshal(t) // a struct of plain data: cannot fail
	h.Write(data)
	if collisions != nil {
		h.Write([]byte(strconv.Itoa(int(*collisions))))
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

func revision(obj metav1.Object) int64 {
	v, _ := strconv.ParseInt(obj.GetAnnotations()[RevisionAnnotation], 10, 64)
	return v
}

func maxRevision(sets []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range sets {
		m = max(m, revision(rs))
	}
	return m
}

// annotate sets the annotations a Deployment's current ReplicaSet carries:
// the Deployment's own (but for the controller's), and revision rev. A
// ReplicaSet that becomes current again keeps its earlier revision in the
// history annotation. It reports whether anything changed.
func annotate(d *appsv1.Deployment, rs *appsv1.ReplicaSet, rev int64) bool {
	before := maps.Clone(rs.Annotations)
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if !notCopied(k) {
			rs.Annotations[k] = v
		}
	}
	if old := revision(rs); old < rev {
		if old > 0 {
			hist := rs.Annotations[RevisionHistoryAnnotation]
			if hist != "" {
				hist += ","
			}
			rs.Annotations[RevisionHistoryAnnotation] = hist + strconv.FormatInt(old, 10)
		}
		rs.Annotations[RevisionAnnotation] = strconv.FormatInt(rev, 10)
	}
	return !maps.Equal(before, rs.Annotations)
}

// newReplicaSet builds the ReplicaSet for the Deployment's current template.
func newReplicaSet(d *appsv1.Deployment, rev int64, replicas int32, surge int32) *appsv1.ReplicaSet {
	hash := templateHash(&d.Spec.Template, d.Status.CollisionCount)
	template := d.Spec.Template.DeepCopy()
	template.Labels = maps.Clone(template.Labels)
	if template.Labels == nil {
		template.Labels = map[string]string{}
	}
	template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	name := d.Name
	if limit := 253 - len(hash) - 1; len(name) > limit {
		name = name[:limit]
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name + "-" + hash,
			Namespace:       d.Namespace,
			Labels:          template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        &replicas,
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        *template,
		},
	}
	annotate(d, rs, rev)
	rs.Annotations[DesiredReplicasAnnotation] = strconv.Itoa(int(desired(d)))
	rs.Annotations[MaxReplicasAnnotation] = strconv.Itoa(int(desired(d) + surge))
	return rs
}

// scaleReplicaSet sets a ReplicaSet's replicas and its replica annotations.
// It does nothing if both are already right. It returns the updated set.
func (c *Controller) scaleReplicaSet(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet, n int32) (*appsv1.ReplicaSet, error) {
	surge, _ := limits(d)
	want := map[string]string{
		DesiredReplicasAnnotation: strconv.Itoa(int(desired(d))),
		MaxReplicasAnnotation:     strconv.Itoa(int(desired(d) + surge)),
	}
	from := replicas(rs.Spec.Replicas)
	if from == n && rs.Annotations[DesiredReplicasAnnotation] == want[DesiredReplicasAnnotation] &&
		rs.Annotations[MaxReplicasAnnotation] == want[MaxReplicasAnnotation] {
		return rs, nil
	}
	updated := rs.DeepCopy()
	updated.Spec.Replicas = &n
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	maps.Copy(updated.Annotations, want)
	saved, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("scale replica set %s: %w", klog.KObj(rs), err)
	}
	if from != n {
		direction := "up"
		if n < from {
			direction = "down"
		}
		c.events.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", direction, rs.Name, from, n)
	}
	return saved, nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func desired(d *appsv1.Deployment) int32 { return replicas(d.Spec.Replicas) }
