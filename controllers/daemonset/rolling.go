package daemonset

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubelite/kubelite/controllers/internal/loop"
)

// budget returns maxSurge and maxUnavailable of a RollingUpdate daemon
// set for desired nodes, rounded up; with both zero, maxUnavailable is 1.
func budget(ds *appsv1.DaemonSet, desired int) (surge, unavailable int, err error) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil {
		return 0, 1, nil
	}
	if ru.MaxSurge != nil {
		if surge, err = intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true); err != nil {
			return 0, 0, fmt.Errorf("maxSurge: %w", err)
		}
	}
	if ru.MaxUnavailable != nil {
		if unavailable, err = intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true); err != nil {
			return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
		}
	}
	if desired > 0 && surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable, nil
}

func allowsSurge(ds *appsv1.DaemonSet) bool {
	surge, _, err := budget(ds, 1)
	return err == nil && surge > 0
}

// onNode splits a node's pods into its new (current hash) and old pod; ok
// is false when it has more than one of either, which manage resolves
// first.
func (d *daemon) onNode(pods []*corev1.Pod) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if d.updated(p) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// rollingUpdate replaces old pods node by node. Without surge it deletes
// old pods (manage then creates new ones) while at most maxUnavailable
// nodes lack an available daemon; unavailable old pods go first and do
// not count against the budget. With surge it starts a new pod beside an
// old one on at most maxSurge nodes at a time; manage deletes the old pod
// once the new one is available.
func (d *daemon) rollingUpdate(ctx context.Context) error {
	ds := d.ds
	byNode := map[string][]*corev1.Pod{}
	desired := 0
	eligible := map[string]bool{}
	for _, node := range d.nodes {
		run, _ := d.place.on(node)
		eligible[node.Name] = run
		if run {
			desired++
			byNode[node.Name] = d.byNode[node.Name]
		}
	}
	for node, pods := range d.byNode {
		if _, ok := byNode[node]; !ok {
			byNode[node] = pods
		}
	}
	names := make([]string, 0, len(byNode))
	for n := range byNode {
		names = append(names, n)
	}
	slices.Sort(names)
	maxSurge, maxUnavailable, err := budget(ds, desired)
	if err != nil {
		return loop.Terminal(fmt.Errorf("daemonset %s/%s: %w", ds.Namespace, ds.Name, err))
	}

	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []*corev1.Pod
		for _, node := range names {
			newPod, oldPod, ok := d.onNode(byNode[node])
			switch {
			case !ok, newPod == nil && oldPod == nil, newPod != nil && oldPod != nil:
				unavailable++
			case newPod != nil:
				if !d.available(newPod) {
					unavailable++
				}
			case !d.available(oldPod):
				replace = append(replace, oldPod)
				unavailable++
			case unavailable < maxUnavailable:
				candidates = append(candidates, oldPod)
			}
		}
		n := min(max(maxUnavailable-unavailable, 0), len(candidates))
		return d.apply(ctx, nil, append(replace, candidates[:n]...))
	}

	surging, available := 0, 0
	var remove, misplaced []*corev1.Pod
	var allowed, candidates []string
	for _, node := range names {
		newPod, oldPod, ok := d.onNode(byNode[node])
		if !ok {
			surging++
			continue
		}
		if p := oldPod; p != nil || newPod != nil {
			if p == nil {
				p = newPod
			}
			if d.available(p) {
				available++
			}
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			switch {
			case !eligible[node] && !d.available(oldPod):
				remove = append(remove, oldPod)
			case !eligible[node]:
				misplaced = append(misplaced, oldPod)
			case !d.available(oldPod):
				allowed = append(allowed, node)
			case surging < maxSurge:
				candidates = append(candidates, node)
			}
		case !d.available(newPod):
			surging++
		default:
			remove = append(remove, oldPod)
		}
	}
	if spare := min(available-desired, len(misplaced)); spare > 0 {
		remove = append(remove, misplaced[:spare]...)
	}
	n := min(max(maxSurge-surging, 0), len(candidates))
	return d.apply(ctx, append(allowed, candidates[:n]...), remove)
}
