// Package history keeps the ControllerRevisions of workload controllers
// (StatefulSet, DaemonSet): snapshots of a pod template that let a rollout
// tell old pods from new ones, and `kubectl rollout history|undo` list and
// restore them.
//
// A revision's data is a strategic merge patch that replaces the owner's
// spec.template ({"spec":{"template":{...,"$patch":"replace"}}}), as
// upstream stores it, so kubectl applies it to the owner unchanged. Its name
// is "<owner>-<hash>"; when another revision already holds that name with
// other data, the owner's collision count is raised and the hash recomputed.
package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
)

// maxPrefix is the longest owner name a revision name keeps, so that the
// name with its hash stays a valid object name.
const maxPrefix = 223

// maxCollisions bounds the names Create tries before it gives up.
const maxCollisions = 100

// ErrCollisions is wrapped by Create when every name it tried was taken.
var ErrCollisions = errors.New("too many revision name collisions")

// Name is the name of the revision of owner prefix with the given hash.
func Name(prefix, hash string) string {
	if len(prefix) > maxPrefix {
		prefix = prefix[:maxPrefix]
	}
	return prefix + "-" + hash
}

// Hash names revision data as upstream's StatefulSet controller does: the
// 32-bit FNV-1 hash of the data and, if collisions is set, of its decimal
// value, encoded with rand.SafeEncodeString.
func Hash(data []byte, collisions *int32) string {
	h := fnv.New32()
	h.Write(data)
	if collisions != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisions), 10)))
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// TemplateHash names a pod template: the 32-bit FNV-1a hash of its JSON and
// of collisions, encoded as Hash does. DaemonSets label their pods and name
// their revisions with it, as Deployments do their ReplicaSets.
func TemplateHash(t *corev1.PodTemplateSpec, collisions *int32) string {
	h := fnv.New32a()
	data, _ := json.Marshal(t) // plain data: cannot fail
	h.Write(data)
	if collisions != nil {
		h.Write([]byte(strconv.Itoa(int(*collisions))))
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// Patch returns the revision data for a pod template: a strategic merge
// patch that replaces spec.template, its keys sorted as encoding/json sorts
// map keys, so that equal templates give equal bytes.
func Patch(t *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode pod template: %w", err)
	}
	var template map[string]any
	if err := json.Unmarshal(raw, &template); err != nil {
		return nil, fmt.Errorf("decode pod template: %w", err)
	}
	template["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
}

// templateHolder is the shape revision patches apply to: the spec.template
// of a StatefulSet or DaemonSet, with the pod template's patch strategies.
type templateHolder struct {
	Spec struct {
		Template corev1.PodTemplateSpec `json:"template"`
	} `json:"spec"`
}

// Template returns the pod template that rev's data makes of current.
func Template(current *corev1.PodTemplateSpec, rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var base templateHolder
	base.Spec.Template = *current
	original, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	patched, err := strategicpatch.StrategicMergePatch(original, rev.Data.Raw, templateHolder{})
	if err != nil {
		return nil, fmt.Errorf("apply revision %s: %w", rev.Name, err)
	}
	var out templateHolder
	if err := json.Unmarshal(patched, &out); err != nil {
		return nil, fmt.Errorf("apply revision %s: %w", rev.Name, err)
	}
	return &out.Spec.Template, nil
}

// Sort orders revisions oldest first: by revision number, then creation
// time, then name.
func Sort(revs []*appsv1.ControllerRevision) {
	slices.SortStableFunc(revs, func(a, b *appsv1.ControllerRevision) int {
		switch {
		case a.Revision != b.Revision:
			return cmpInt(a.Revision, b.Revision)
		case !a.CreationTimestamp.Equal(&b.CreationTimestamp):
			if a.CreationTimestamp.Before(&b.CreationTimestamp) {
				return -1
			}
			return 1
		}
		return cmpString(a.Name, b.Name)
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Equal reports whether two revisions hold the same data.
func Equal(a, b *appsv1.ControllerRevision) bool {
	return bytes.Equal(a.Data.Raw, b.Data.Raw)
}

// Owned lists the revisions in namespace ns that selector matches and that
// the owner with uid controls or nobody controls (orphans it may adopt),
// oldest first.
func Owned(lister appslisters.ControllerRevisionLister, ns string, selector labels.Selector, uid types.UID) ([]*appsv1.ControllerRevision, error) {
	all, err := lister.ControllerRevisions(ns).List(selector)
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOfNoCopy(r); ref == nil || ref.UID == uid {
			out = append(out, r)
		}
	}
	Sort(out)
	return out, nil
}

// Spec describes a revision to create.
type Spec struct {
	// Owner controls the revision and prefixes its name; Kind is its kind.
	Owner metav1.Object
	Kind  schema.GroupVersionKind
	// Labels are the pod template's labels; HashLabel is added to them with
	// the revision's hash.
	Labels    map[string]string
	HashLabel string
	// Annotations are copied to the revision (upstream copies the owner's).
	Annotations map[string]string
	// Data is the revision's patch (see Patch) and Revision its number.
	Data     []byte
	Revision int64
	// Hash computes the name's hash for a collision count.
	Hash func(collisions *int32) string
}

// Create creates the revision spec describes and returns it. If its name is
// taken by a revision with the same data, that revision is returned; if by
// one with other data, *collisions is raised and the next name tried. The
// caller saves *collisions in its owner's status.
func Create(ctx context.Context, client kubernetes.Interface, spec Spec, collisions *int32) (*appsv1.ControllerRevision, error) {
	ns := spec.Owner.GetNamespace()
	for range maxCollisions {
		hash := spec.Hash(collisions)
		labels := maps.Clone(spec.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[spec.HashLabel] = hash
		rev := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{
				Name:            Name(spec.Owner.GetName(), hash),
				Namespace:       ns,
				Labels:          labels,
				Annotations:     maps.Clone(spec.Annotations),
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(spec.Owner, spec.Kind)},
			},
			Data:     runtime.RawExtension{Raw: spec.Data},
			Revision: spec.Revision,
		}
		created, err := client.AppsV1().ControllerRevisions(ns).Create(ctx, rev, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			if err != nil {
				return nil, fmt.Errorf("create revision %s/%s: %w", ns, rev.Name, err)
			}
			return created, nil
		}
		existing, err := client.AppsV1().ControllerRevisions(ns).Get(ctx, rev.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get revision %s/%s: %w", ns, rev.Name, err)
		}
		if bytes.Equal(existing.Data.Raw, spec.Data) {
			return existing, nil
		}
		if collisions == nil {
			collisions = new(int32)
		}
		*collisions++
	}
	return nil, fmt.Errorf("create revision of %s/%s: %w", ns, spec.Owner.GetName(), ErrCollisions)
}

// Renumber gives rev the revision number n, as when a rollback makes an
// old revision the newest again.
func Renumber(ctx context.Context, client kubernetes.Interface, rev *appsv1.ControllerRevision, n int64) (*appsv1.ControllerRevision, error) {
	if rev.Revision == n {
		return rev, nil
	}
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": rev.UID},
		"revision": n,
	})
	updated, err := client.AppsV1().ControllerRevisions(rev.Namespace).Patch(ctx, rev.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("renumber revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return updated, nil
}

// Adopt makes owner the controller of the orphan rev, on the condition that
// rev is still the object (uid) and version the caller saw.
func Adopt(ctx context.Context, client kubernetes.Interface, owner metav1.Object, kind schema.GroupVersionKind, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	refs := append(slices.Clone(rev.OwnerReferences), *metav1.NewControllerRef(owner, kind))
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "uid": rev.UID, "resourceVersion": rev.ResourceVersion,
	}})
	if err != nil {
		return nil, err
	}
	adopted, err := client.AppsV1().ControllerRevisions(rev.Namespace).Patch(ctx, rev.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("adopt revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return adopted, nil
}

// Truncate deletes the oldest revisions that are not live until at most
// limit revisions that are not live remain. revs must be sorted oldest
// first; live holds the names of revisions in use (the owner's current and
// update revisions, those its pods run). A negative limit keeps all.
func Truncate(ctx context.Context, client kubernetes.Interface, revs []*appsv1.ControllerRevision, live map[string]bool, limit int32) error {
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			old = append(old, r)
		}
	}
	if limit < 0 || len(old) <= int(limit) {
		return nil
	}
	var errs []error
	for _, r := range old[:len(old)-int(limit)] {
		uid := r.UID
		err := client.AppsV1().ControllerRevisions(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("delete revision %s/%s: %w", r.Namespace, r.Name, err))
		}
	}
	return errors.Join(errs...)
}
