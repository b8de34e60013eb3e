package daemonset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/internal/history"
	"github.com/kubelite/kubelite/controllers/internal/loop"
	"github.com/kubelite/kubelite/controllers/internal/workload"
)

// sync brings one daemon set's pods and revisions to what its spec and the
// nodes say and writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return loop.Terminal(err)
	}
	ds, err := c.sets.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expects.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || selector.Empty() {
		c.events.Eventf(ds, corev1.EventTypeWarning, "SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.")
		return loop.Terminal(fmt.Errorf("daemonset %s has an invalid or empty selector", key))
	}
	if ds.DeletionTimestamp != nil {
		// Its pods and revisions are going; status cannot be trusted.
		return nil
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return cmpString(a.Name, b.Name) })
	cur, old, collisions, err := c.revisions(ctx, ds, selector)
	if err != nil {
		return err
	}
	hash := cur.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	d := &daemon{c: c, ds: ds, key: key, hash: hash, nodes: nodes, place: newPlacement(ds, klog.FromContext(ctx)), now: c.clock.Now()}
	if err := d.claim(ctx, selector); err != nil {
		return err
	}

	if !c.expects.Satisfied(key) {
		// Earlier creations or deletions are not in the cache yet: count,
		// but change nothing, and do not claim to have seen this generation.
		return c.writeStatus(ctx, ds, d.status(), collisions, false)
	}
	workErr := d.manage(ctx)
	if workErr == nil && c.expects.Satisfied(key) && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		workErr = d.rollingUpdate(ctx)
	}
	if workErr == nil {
		workErr = c.truncateHistory(ctx, ds, d.byNode, old)
	}
	statusErr := c.writeStatus(ctx, ds, d.status(), collisions, true)
	if err := errors.Join(workErr, statusErr); err != nil {
		return err
	}
	if next := d.nextAvailable(); next > 0 {
		c.loop.AddAfter(key, next)
	}
	return nil
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

// revisions returns the daemon set's current revision (that of its
// template now), creating or renumbering it as needed, and its other
// revisions. Orphan revisions its selector matches are adopted.
func (c *Controller) revisions(ctx context.Context, ds *appsv1.DaemonSet, selector labels.Selector) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, int32, error) {
	var collisions int32
	if ds.Status.CollisionCount != nil {
		collisions = *ds.Status.CollisionCount
	}
	all, err := history.Owned(c.revs, ds.Namespace, selector, ds.UID)
	if err != nil {
		return nil, nil, collisions, err
	}
	checked := false
	for i, rev := range all {
		if metav1.GetControllerOfNoCopy(rev) != nil {
			continue
		}
		if !checked {
			checked = true
			if fresh, err := c.fresh(ctx, ds); err != nil || fresh.UID != ds.UID || fresh.DeletionTimestamp != nil {
				return nil, nil, collisions, fmt.Errorf("daemonset %s is gone or being deleted: not adopting revisions (%v)", klog.KObj(ds), err)
			}
		}
		if all[i], err = history.Adopt(ctx, c.client, ds, kind, rev); err != nil {
			return nil, nil, collisions, err
		}
	}
	data, err := history.Patch(&ds.Spec.Template)
	if err != nil {
		return nil, nil, collisions, err
	}
	var current, old []*appsv1.ControllerRevision
	next := int64(1)
	for _, rev := range all {
		if bytes.Equal(rev.Data.Raw, data) {
			current = append(current, rev)
		} else {
			old = append(old, rev)
			next = max(next, rev.Revision+1)
		}
	}
	var cur *appsv1.ControllerRevision
	switch len(current) {
	case 0:
		cur, err = history.Create(ctx, c.client, history.Spec{
			Owner: ds, Kind: kind,
			Labels: ds.Spec.Template.Labels, HashLabel: appsv1.DefaultDaemonSetUniqueLabelKey,
			Annotations: ds.Annotations,
			Data:        data, Revision: next,
			Hash: func(collisions *int32) string { return history.TemplateHash(&ds.Spec.Template, collisions) },
		}, &collisions)
	default:
		// Equal revisions (left by a race): keep the newest.
		cur = current[len(current)-1]
		old = append(old, current[:len(current)-1]...)
		if cur.Revision < next {
			cur, err = history.Renumber(ctx, c.client, cur, next)
		}
	}
	if err != nil {
		return nil, nil, collisions, err
	}
	if _, ok := cur.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; !ok {
		return nil, nil, collisions, loop.Terminal(fmt.Errorf("revision %s has no %s label", klog.KObj(cur), appsv1.DefaultDaemonSetUniqueLabelKey))
	}
	return cur, old, collisions, nil
}

func (c *Controller) fresh(ctx context.Context, ds *appsv1.DaemonSet) (*appsv1.DaemonSet, error) {
	return c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
}

// truncateHistory deletes the oldest revisions beyond revisionHistoryLimit
// that no pod runs.
func (c *Controller) truncateHistory(ctx context.Context, ds *appsv1.DaemonSet, byNode map[string][]*corev1.Pod, old []*appsv1.ControllerRevision) error {
	live := map[string]bool{}
	hashes := map[string]bool{}
	for _, pods := range byNode {
		for _, p := range pods {
			hashes[p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] = true
		}
	}
	for _, rev := range old {
		if hashes[rev.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			live[rev.Name] = true
		}
	}
	limit := int32(10)
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = *ds.Spec.RevisionHistoryLimit
	}
	history.Sort(old)
	return history.Truncate(ctx, c.client, old, live, limit)
}

// daemon is one sync's view of a daemon set: its pods by node.
type daemon struct {
	c     *Controller
	ds    *appsv1.DaemonSet
	key   string
	hash  string
	nodes []*corev1.Node
	place *placement
	now   time.Time
	// byNode holds the set's pods by the node they are bound or pinned to,
	// leaving out finished pods being deleted.
	byNode map[string][]*corev1.Pod
}

// claim adopts and releases pods and sorts the set's pods by node.
func (d *daemon) claim(ctx context.Context, selector labels.Selector) error {
	ds := d.ds
	pods, err := workload.Claim(ctx, d.c.client, workload.Owner{
		Object: ds, Kind: kind, Selector: selector,
		Fresh: func(ctx context.Context) (metav1.Object, error) { return d.c.fresh(ctx, ds) },
	}, workload.Candidates(d.c.pods, ds.Namespace, ds.UID))
	if err != nil {
		return err
	}
	d.byNode = map[string][]*corev1.Pod{}
	for _, p := range pods {
		if finished(p) && p.DeletionTimestamp != nil {
			continue
		}
		node, err := targetNode(p)
		if err != nil {
			continue
		}
		d.byNode[node] = append(d.byNode[node], p)
	}
	for _, pods := range d.byNode {
		sortOldestFirst(pods)
	}
	return nil
}

func finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// sortOldestFirst sorts pods bound to a node before pending ones, then by
// creation time and name.
func sortOldestFirst(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			return a.Spec.NodeName != ""
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

func (d *daemon) updated(p *corev1.Pod) bool {
	return p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == d.hash
}

func (d *daemon) available(p *corev1.Pod) bool {
	ok, _ := workload.Available(p, d.ds.Spec.MinReadySeconds, d.now)
	return ok
}

// manage decides per node which pods to create and delete: a node that
// should run the daemon and has no pod gets one; failed and succeeded pods
// are deleted (failed ones after a backoff per node); a node with more
// than one pod keeps the oldest (with maxSurge, an old and a new one while
// the new one is not yet available); a node that may not keep the daemon
// loses its pods, and so do pods pinned to a node that is gone and not
// yet bound.
func (d *daemon) manage(ctx context.Context) error {
	ds, c := d.ds, d.c
	var remove []*corev1.Pod
	var createOn []string
	seen := map[string]bool{}
	surge := allowsSurge(ds)
	for _, node := range d.nodes {
		seen[node.Name] = true
		run, stay := d.place.on(node)
		pods, exists := d.byNode[node.Name]
		switch {
		case run && !exists:
			createOn = append(createOn, node.Name)
		case stay:
			var running []*corev1.Pod
			for _, p := range pods {
				switch {
				case p.DeletionTimestamp != nil:
				case p.Status.Phase == corev1.PodFailed:
					backoffKey := string(ds.UID) + "/" + node.Name
					if c.failedPod.IsInBackOffSinceUpdate(backoffKey, d.now) {
						c.loop.AddAfter(d.key, c.failedPod.Get(backoffKey))
						continue
					}
					c.failedPod.Next(backoffKey, d.now)
					c.events.Eventf(ds, corev1.EventTypeWarning, "FailedDaemonPod", "Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, node.Name)
					remove = append(remove, p)
				case p.Status.Phase == corev1.PodSucceeded:
					c.events.Eventf(ds, corev1.EventTypeNormal, "SucceededDaemonPod", "Found succeeded daemon pod %s/%s on node %s, will try to delete it", p.Namespace, p.Name, node.Name)
					remove = append(remove, p)
				default:
					running = append(running, p)
				}
			}
			remove = append(remove, d.excess(running, surge)...)
			if surge && len(running) == 0 && run {
				createOn = append(createOn, node.Name)
			}
		case exists:
			for _, p := range pods {
				if p.DeletionTimestamp == nil {
					remove = append(remove, p)
				}
			}
		}
	}
	// Pods pinned to a node that is gone can never be scheduled; those
	// bound to one are the pod garbage collector's, as upstream.
	for node, pods := range d.byNode {
		if seen[node] {
			continue
		}
		for _, p := range pods {
			if p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				remove = append(remove, p)
			}
		}
	}
	return d.apply(ctx, createOn, remove)
}

// excess returns the running pods of one node beyond the one it keeps: the
// oldest, or, with surge, the oldest new pod and, while that is not yet
// available and the oldest old pod is ready, the oldest old one too.
func (d *daemon) excess(running []*corev1.Pod, surge bool) []*corev1.Pod {
	if len(running) <= 1 {
		return nil
	}
	if !surge {
		return running[1:]
	}
	var newest, oldest *corev1.Pod // the oldest new and the oldest old pod
	var out []*corev1.Pod
	for _, p := range running {
		switch {
		case d.updated(p) && newest == nil:
			newest = p
		case !d.updated(p) && oldest == nil:
			oldest = p
		default:
			out = append(out, p)
		}
	}
	if newest != nil && oldest != nil && (!workload.Ready(oldest) || d.available(newest)) {
		out = append(out, oldest)
	}
	return out
}

// apply creates a pod on each of nodes and deletes pods, at most the burst
// limit of each, after recording them as expected.
func (d *daemon) apply(ctx context.Context, nodes []string, remove []*corev1.Pod) error {
	c, ds := d.c, d.ds
	nodes = nodes[:min(len(nodes), c.burst)]
	remove = remove[:min(len(remove), c.burst)]
	if len(nodes) == 0 && len(remove) == 0 {
		return nil
	}
	keys := make([]string, len(remove))
	for i, p := range remove {
		keys[i] = p.Namespace + "/" + p.Name
	}
	c.expects.Expect(d.key, len(nodes), keys)

	template := ds.Spec.Template.DeepCopy()
	template.Spec.Tolerations = tolerations(&template.Spec)
	if template.Labels == nil {
		template.Labels = map[string]string{}
	}
	template.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = d.hash
	var errs []error
	done := 0
	for batch := min(1, len(nodes)); batch > 0; batch = min(2*batch, len(nodes)-done) {
		batchErrs := make([]error, batch)
		var wg sync.WaitGroup
		for i := range batch {
			node := nodes[done+i]
			wg.Go(func() { batchErrs[i] = d.createPod(ctx, template, node) })
		}
		wg.Wait()
		done += batch
		if err := errors.Join(batchErrs...); err != nil {
			errs = append(errs, err)
			for _, e := range batchErrs {
				if e != nil {
					c.expects.Created(d.key) // never coming
				}
			}
			for range len(nodes) - done {
				c.expects.Created(d.key) // not attempted
			}
			break
		}
	}
	var wg sync.WaitGroup
	delErrs := make([]error, len(remove))
	for i, p := range remove {
		wg.Go(func() {
			if delErrs[i] = workload.DeletePod(ctx, c.client, p); delErrs[i] != nil {
				c.expects.Deleted(d.key, keys[i]) // never coming
				c.events.Eventf(ds, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", delErrs[i])
				return
			}
			c.events.Eventf(ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
		})
	}
	wg.Wait()
	return errors.Join(append(errs, delErrs...)...)
}

// createPod creates a daemon pod pinned to node through its required node
// affinity; the scheduler binds it.
func (d *daemon) createPod(ctx context.Context, template *corev1.PodTemplateSpec, node string) error {
	c, ds := d.c, d.ds
	p := workload.NewPod(template, ds, kind)
	p.GenerateName = ds.Name + "-"
	pinTo(&p.Spec, node)
	created, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, p, metav1.CreateOptions{})
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil
	}
	if err != nil {
		c.events.Eventf(ds, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create daemon pod for node %s: %w", node, err)
	}
	klog.FromContext(ctx).V(4).Info("Created daemon pod", "daemonSet", klog.KObj(ds), "pod", klog.KObj(created), "node", node)
	c.events.Eventf(ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.Name)
	return nil
}

// nextAvailable is how soon the first ready pod that is not yet available
// becomes available, or 0.
func (d *daemon) nextAvailable() time.Duration {
	var next time.Duration
	for _, pods := range d.byNode {
		for _, p := range pods {
			if _, left := workload.Available(p, d.ds.Spec.MinReadySeconds, d.now); left > 0 && (next == 0 || left < next) {
				next = left
			}
		}
	}
	return next
}
