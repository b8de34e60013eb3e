package scheduler

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/cache"

	"github.com/kubelite/kubelite/controllers/scheduler/plugins/interpodaffinity"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/nodeports"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/noderesources"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/nodevolumelimits"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/podtopologyspread"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/volumebinding"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/volumerestrictions"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/volumezone"
)

// The cluster events that retry unschedulable pods.
const (
	// A new or changed node may fit any pod.
	nodeAdded clusterEvent = iota
	nodeChanged
	// A pod leaving a node frees its resources, ports and claims.
	assignedPodDeleted
	// A pod arriving on or relabelled on a node matters to the pod
	// affinity and spread of others.
	assignedPodChanged
	// A claim, volume, class or CSINode appearing or changing may fix a
	// pod's volumes.
	volumeChanged
)

// plugins names the plugins whose rejections ev may undo; nil means any.
func (ev clusterEvent) plugins() []string {
	switch ev {
	case assignedPodDeleted:
		return []string{noderesources.FitName, nodeports.Name, interpodaffinity.Name, podtopologyspread.Name, volumerestrictions.Name, nodevolumelimits.Name}
	case assignedPodChanged:
		return []string{interpodaffinity.Name, podtopologyspread.Name}
	case volumeChanged:
		return []string{volumebinding.Name, volumezone.Name, volumerestrictions.Name, nodevolumelimits.Name}
	}
	return nil
}

func (s *Scheduler) addHandlers(cfg Config) error {
	podReg, err := s.handle(cfg.Pods.Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onPod(nil, obj.(*corev1.Pod)) },
		UpdateFunc: func(old, cur any) { s.onPod(old.(*corev1.Pod), cur.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				s.onPodDelete(pod)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("scheduler: add pod handler: %w", err)
	}
	nodeReg, err := s.handle(cfg.Nodes.Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			s.cache.setNode(obj.(*corev1.Node))
			s.queue.move(nodeAdded)
		},
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.Node), cur.(*corev1.Node)
			s.cache.setNode(n)
			if nodeChangeMatters(o, n) {
				s.queue.move(nodeChanged)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				s.cache.removeNode(n)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("scheduler: add node handler: %w", err)
	}
	s.synced = append(s.synced, cfg.Pods.Informer().HasSynced, podReg.HasSynced, cfg.Nodes.Informer().HasSynced, nodeReg.HasSynced)
	return nil
}

// handle adds h to informer and remembers it, for removeHandlers.
func (s *Scheduler) handle(informer cache.SharedIndexInformer, h cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	reg, err := informer.AddEventHandler(h)
	if err == nil {
		s.handlers = append(s.handlers, handler{informer, reg})
	}
	return reg, err
}

// removeHandlers takes the scheduler's handlers off the informers, which
// may outlive it: a scheduler that lost its lease must stop hearing of
// pods while the process's other components keep the informers.
func (s *Scheduler) removeHandlers() {
	for _, h := range s.handlers {
		_ = h.informer.RemoveEventHandler(h.reg)
	}
	s.handlers = nil
}

func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// onPod handles a pod added (old nil) or changed: an assigned pod is
// counted on its node, a pending one of ours is queued.
func (s *Scheduler) onPod(old, pod *corev1.Pod) {
	switch {
	case pod.Spec.NodeName != "":
		if old != nil && old.Spec.NodeName == "" {
			s.queue.remove(pod.UID)
			s.nominator.set(pod, "")
		}
		if finished(pod) {
			// A finished pod frees its node as a deleted one does.
			if old != nil && !finished(old) {
				s.cache.removePod(pod)
				s.queue.move(assignedPodDeleted)
			}
			return
		}
		s.cache.setPod(pod)
		if old == nil || old.Spec.NodeName == "" || !maps.Equal(old.Labels, pod.Labels) {
			s.queue.move(assignedPodChanged)
		}
	case pod.Spec.SchedulerName != s.name || len(pod.Spec.SchedulingGates) > 0 || finished(pod):
		s.queue.remove(pod.UID)
		s.nominator.set(pod, "")
	case old == nil || pendingChangeMatters(old, pod):
		s.nominator.set(pod, pod.Status.NominatedNodeName)
		s.queue.add(pod)
	}
}

// onPodDelete forgets a deleted pod: from the queue if it was pending,
// from the cache if it was assigned or assumed (a pod deleted while its
// binding was under way is only assumed).
func (s *Scheduler) onPodDelete(pod *corev1.Pod) {
	wasCounted := pod.Spec.NodeName != "" || s.cache.isAssumed(pod.UID)
	s.queue.remove(pod.UID)
	s.nominator.set(pod, "")
	s.cache.removePod(pod)
	if wasCounted {
		s.queue.move(assignedPodDeleted)
	}
}

// pendingChangeMatters reports whether a pending pod changed in a way that
// can change where it fits: its spec, labels or nominated node. The
// scheduler's own condition updates do not count.
func pendingChangeMatters(old, cur *corev1.Pod) bool {
	return !maps.Equal(old.Labels, cur.Labels) ||
		old.Status.NominatedNodeName != cur.Status.NominatedNodeName ||
		(old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		!equality.Semantic.DeepEqual(old.Spec, cur.Spec)
}

// nodeChangeMatters reports whether a node update can let more pods fit:
// its allocatable, labels, taints, cordon, images or condition statuses
// changed. Heartbeats do not count.
func nodeChangeMatters(old, cur *corev1.Node) bool {
	return old.Spec.Unschedulable != cur.Spec.Unschedulable ||
		!maps.Equal(old.Labels, cur.Labels) ||
		!slices.EqualFunc(old.Spec.Taints, cur.Spec.Taints, func(a, b corev1.Taint) bool { return a.MatchTaint(&b) && a.Value == b.Value }) ||
		!maps.EqualFunc(old.Status.Allocatable, cur.Status.Allocatable, func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }) ||
		len(old.Status.Images) != len(cur.Status.Images) ||
		!slices.Equal(conditionStatuses(old), conditionStatuses(cur))
}

// conditionStatuses lists a node's condition types and statuses (heartbeat
// times do not count).
func conditionStatuses(n *corev1.Node) []string {
	out := make([]string, 0, len(n.Status.Conditions))
	for _, c := range n.Status.Conditions {
		out = append(out, string(c.Type)+"="+string(c.Status))
	}
	return out
}

// watchVolumes fills in the volume listers that cfg provides, and retries
// pods rejected for their volumes when claims, volumes or classes change.
func (s *Scheduler) watchVolumes(cfg Config, l *listers) error {
	retry := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.queue.move(volumeChanged) },
		UpdateFunc: func(any, any) { s.queue.move(volumeChanged) },
	}
	for _, inf := range []interface {
		Informer() cache.SharedIndexInformer
	}{cfg.PersistentVolumeClaims, cfg.PersistentVolumes, cfg.StorageClasses, cfg.CSINodes} {
		if inf == nil {
			continue
		}
		reg, err := s.handle(inf.Informer(), retry)
		if err != nil {
			return fmt.Errorf("scheduler: add volume handler: %w", err)
		}
		s.synced = append(s.synced, inf.Informer().HasSynced, reg.HasSynced)
	}
	if cfg.PersistentVolumeClaims != nil {
		l.volumes.Claims = cfg.PersistentVolumeClaims.Lister()
	}
	if cfg.PersistentVolumes != nil {
		l.volumes.Volumes = cfg.PersistentVolumes.Lister()
	}
	if cfg.StorageClasses != nil {
		l.volumes.Classes = cfg.StorageClasses.Lister()
	}
	if cfg.CSINodes != nil {
		l.csiNodes = cfg.CSINodes.Lister()
	}
	l.volumes.Client = cfg.Client
	return nil
}
