package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Upstream's reasons in a preemption message.
const (
	reasonNotHelpful = "Preemption is not helpful for scheduling"
	reasonNoVictims  = "No preemption victims found for incoming pod"
)

// candidate is a node where evicting victims makes room for the pod.
type candidate struct {
	node       string
	victims    []*corev1.Pod
	violations int
}

// preempt runs when no node fits pod, as upstream's DefaultPreemption: on
// each node that rejected the pod for something removing pods can fix, it
// pretends every pod of lower priority is gone, checks that the pod then
// fits, and puts back as many of them as still leave room (those whose
// eviction would break a PodDisruptionBudget first, then the most
// important). Of the nodes that work it picks the one with the fewest
// budget violations, then the lowest highest victim priority, then the
// fewest victims; evicts the victims and nominates the node. Otherwise it
// adds to fit why preemption does not help.
func (s *Scheduler) preempt(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, fit *fitError) {
	if state == nil {
		return
	}
	if msg := s.preemptionIneligible(state.Snapshot(), pod, fit); msg != "" {
		fit.postFilterMsg = "preemption: " + msg
		return
	}
	snap := state.Snapshot()
	pdbs := s.budgets()
	var candidates []candidate
	statuses := map[string]*framework.Status{}
	for _, node := range snap.Nodes {
		name := node.Node().Name
		st := fit.statuses[name]
		if fit.preFilter != nil {
			st = fit.preFilter
		}
		if st.Code() != framework.Unschedulable {
			continue
		}
		c, st := s.victimsOn(ctx, state.Clone(), pod, node.Clone(), pdbs)
		if !st.IsSuccess() {
			statuses[name] = st
			continue
		}
		candidates = append(candidates, c)
	}
	if len(candidates) == 0 {
		for _, node := range snap.Nodes {
			if _, ok := statuses[node.Node().Name]; !ok {
				statuses[node.Node().Name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, reasonNotHelpful)
			}
		}
		fit.postFilterMsg = "preemption: " + (&fitError{numAllNodes: len(snap.Nodes), statuses: statuses}).Error()
		// A nomination from an earlier preemption no longer holds.
		fit.nominate = new(string)
		s.nominator.set(pod, "")
		return
	}
	best := pickCandidate(candidates)
	logger := klog.FromContext(ctx)
	for _, v := range best.victims {
		if err := s.evict(ctx, v, pod); err != nil {
			logger.Error(err, "Preemption failed to evict a victim", "pod", klog.KObj(pod), "victim", klog.KObj(v))
			return
		}
	}
	logger.V(2).Info("Preempted pods to make room", "pod", klog.KObj(pod), "node", best.node, "victims", len(best.victims))
	fit.nominate = &best.node
	s.nominator.set(pod, best.node)
	s.clearLowerNominations(ctx, pod, best.node)
}

// clearLowerNominations takes back, as upstream, the nominations to node of
// pods with lower priority than pod: the room made there is pod's now.
func (s *Scheduler) clearLowerNominations(ctx context.Context, pod *corev1.Pod, node string) {
	prio := corev1helpers.PodPriority(pod)
	for _, pi := range slices.Clone(s.nominator.on(node)) {
		p := pi.Pod
		if p.UID == pod.UID || corev1helpers.PodPriority(p) >= prio {
			continue
		}
		s.nominator.set(p, "")
		body := []byte(`{"status":{"nominatedNodeName":null}}`)
		_, err := s.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
		if err != nil && !apierrors.IsNotFound(err) {
			klog.FromContext(ctx).Error(err, "Clearing a lower-priority nomination failed", "pod", klog.KObj(p), "node", node)
		}
	}
}

// preemptionIneligible says why pod may not preempt, as upstream: its
// policy says Never, or a victim of its earlier preemption is still
// leaving its nominated node.
func (s *Scheduler) preemptionIneligible(snap *framework.Snapshot, pod *corev1.Pod, fit *fitError) string {
	if p := pod.Spec.PreemptionPolicy; p != nil && *p == corev1.PreemptNever {
		return "not eligible due to preemptionPolicy=Never."
	}
	nn := pod.Status.NominatedNodeName
	if nn == "" || fit.statuses[nn].Code() == framework.UnschedulableAndUnresolvable {
		return ""
	}
	if node, ok := snap.ByName[nn]; ok {
		prio := corev1helpers.PodPriority(pod)
		for _, pi := range node.Pods {
			if pi.Pod.DeletionTimestamp != nil && corev1helpers.PodPriority(pi.Pod) < prio {
				return "not eligible due to a terminating pod on the nominated node."
			}
		}
	}
	return ""
}

func (s *Scheduler) budgets() []*policyv1.PodDisruptionBudget {
	if s.pdbs == nil {
		return nil
	}
	pdbs, _ := s.pdbs.List(labels.Everything())
	return pdbs
}

// victimsOn works out the fewest pods to evict from node (a clone the
// caller lets it change) for pod to fit.
func (s *Scheduler) victimsOn(ctx context.Context, state *framework.CycleState, pod *corev1.Pod,
	node *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) (candidate, *framework.Status) {
	prio := corev1helpers.PodPriority(pod)
	var potential []*framework.PodInfo
	for _, pi := range node.Pods {
		if corev1helpers.PodPriority(pi.Pod) < prio {
			potential = append(potential, pi)
		}
	}
	if len(potential) == 0 {
		return candidate{}, framework.NewStatus(framework.UnschedulableAndUnresolvable, reasonNoVictims)
	}
	change := func(pi *framework.PodInfo, add bool) *framework.Status {
		if add {
			node.AddPod(pi)
		} else {
			node.RemovePod(pi.Pod)
		}
		for _, o := range s.algo.profile.observers {
			var st *framework.Status
			if add {
				st = o.AddPod(ctx, state, pod, pi, node)
			} else {
				st = o.RemovePod(ctx, state, pod, pi, node)
			}
			if !st.IsSuccess() {
				return st
			}
		}
		return nil
	}
	for _, pi := range potential {
		if st := change(pi, false); !st.IsSuccess() {
			return candidate{}, st
		}
	}
	if st := s.algo.filter(ctx, state, pod, node); !st.IsSuccess() {
		return candidate{}, st
	}
	slices.SortStableFunc(potential, func(a, b *framework.PodInfo) int { return moreImportant(a.Pod, b.Pod) })
	violating := splitByBudget(potential, pdbs)
	c := candidate{node: node.Node().Name}
	for _, pi := range potential {
		if st := change(pi, true); !st.IsSuccess() {
			return candidate{}, st
		}
		if s.algo.filter(ctx, state, pod, node).IsSuccess() {
			continue
		}
		if st := change(pi, false); !st.IsSuccess() {
			return candidate{}, st
		}
		c.victims = append(c.victims, pi.Pod)
		if violating[pi.Pod.UID] {
			c.violations++
		}
	}
	return c, nil
}

// moreImportant orders pods by priority, highest first, then by start
// time, earliest first.
func moreImportant(a, b *corev1.Pod) int {
	pa, pb := corev1helpers.PodPriority(a), corev1helpers.PodPriority(b)
	if pa != pb {
		return int(pb) - int(pa)
	}
	return startTime(a).Compare(startTime(b).Time)
}

func startTime(p *corev1.Pod) metav1.Time {
	if p.Status.StartTime != nil {
		return *p.Status.StartTime
	}
	return p.CreationTimestamp
}

// splitByBudget marks the pods whose eviction would take a budget below
// what it allows (counting down each budget's disruptionsAllowed in
// order), and reorders pods so those come first, as upstream reprieves
// them first.
func splitByBudget(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) map[types.UID]bool {
	allowed := make([]int32, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
	}
	violating := map[types.UID]bool{}
	for _, pi := range pods {
		p := pi.Pod
		if len(p.Labels) == 0 {
			continue
		}
		for i, pdb := range pdbs {
			if pdb.Namespace != p.Namespace {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(p.Labels)) {
				continue
			}
			if _, gone := pdb.Status.DisruptedPods[p.Name]; gone {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				violating[p.UID] = true
			}
		}
	}
	slices.SortStableFunc(pods, func(a, b *framework.PodInfo) int {
		va, vb := violating[a.Pod.UID], violating[b.Pod.UID]
		switch {
		case va && !vb:
			return -1
		case vb && !va:
			return 1
		}
		return 0
	})
	return violating
}

// pickCandidate picks, as upstream: fewest budget violations, then the
// lowest highest-priority victim, then the lowest sum of victim
// priorities, then the fewest victims, then the first.
func pickCandidate(cs []candidate) candidate {
	key := func(c candidate) [4]int64 {
		highest := int64(math.MinInt32)
		var sum int64
		for _, v := range c.victims {
			p := int64(corev1helpers.PodPriority(v))
			highest = max(highest, p)
			sum += p + math.MaxInt32 + 1
		}
		return [4]int64{int64(c.violations), highest, sum, int64(len(c.victims))}
	}
	best, bestKey := cs[0], key(cs[0])
	for _, c := range cs[1:] {
		if k := key(c); slices.Compare(k[:], bestKey[:]) < 0 {
			best, bestKey = c, k
		}
	}
	return best
}

// evict marks victim with the DisruptionTarget condition, as upstream,
// records a Preempted event and deletes it (only that very pod: a UID
// precondition).
func (s *Scheduler) evict(ctx context.Context, victim, preemptor *corev1.Pod) error {
	cond := corev1.PodCondition{
		Type:               corev1.DisruptionTarget,
		Status:             corev1.ConditionTrue,
		Reason:             corev1.PodReasonPreemptionByScheduler,
		Message:            s.name + ": preempting to accommodate a higher priority pod",
		LastTransitionTime: metav1.NewTime(s.now()),
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{cond}}})
	if err != nil {
		return err
	}
	pods := s.client.CoreV1().Pods(victim.Namespace)
	if _, err := pods.Patch(ctx, victim.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status"); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("mark victim %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	uid := victim.UID
	err = pods.Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete victim %s/%s: %w", victim.Namespace, victim.Name, err)
	}
	s.events.Eventf(victim, preemptor, corev1.EventTypeNormal, "Preempted", "Preempting",
		"Preempted by pod %s on node %s", preemptor.UID, victim.Spec.NodeName)
	return nil
}
