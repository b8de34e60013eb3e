package statefulset

import (
	"regexp"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/internal/workload"
)

// memberName splits a set member's name, "<set>-<ordinal>".
var memberName = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parseName returns the set and ordinal a pod's name gives, or -1 for the
// ordinal if the name is not a member's.
func parseName(name string) (string, int) {
	m := memberName.FindStringSubmatch(name)
	if m == nil {
		return "", -1
	}
	n, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(n)
}

func ordinalOf(p *corev1.Pod) int {
	_, n := parseName(p.Name)
	return n
}

// isMember reports whether a pod's name makes it a member of set.
func isMember(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	parent, n := parseName(p.Name)
	return n >= 0 && parent == set.Name
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func replicas(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange reports whether ordinal n is one the set's replicas should have.
func inRange(set *appsv1.StatefulSet, n int) bool {
	start := startOrdinal(set)
	return n >= start && n < start+replicas(set)
}

func podName(set *appsv1.StatefulSet, n int) string {
	return set.Name + "-" + strconv.Itoa(n)
}

func claimName(set *appsv1.StatefulSet, template string, n int) string {
	return template + "-" + set.Name + "-" + strconv.Itoa(n)
}

// newPod returns the pod of ordinal n made from template at revision rev:
// its name, hostname and subdomain, identity labels and claims' volumes.
func newPod(set *appsv1.StatefulSet, template *corev1.PodTemplateSpec, rev string, n int) *corev1.Pod {
	p := workload.NewPod(template, set, kind)
	p.Name = podName(set, n)
	p.Spec.Hostname = p.Name
	p.Spec.Subdomain = set.Spec.ServiceName
	setIdentity(set, p)
	setStorage(set, p)
	p.Labels[appsv1.StatefulSetRevisionLabel] = rev
	return p
}

// identityMatches reports whether a pod has its ordinal's name, namespace
// and pod-name label.
func identityMatches(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	n := ordinalOf(p)
	return n >= 0 && p.Name == podName(set, n) && p.Namespace == set.Namespace &&
		p.Labels[appsv1.StatefulSetPodNameLabel] == p.Name
}

func setIdentity(set *appsv1.StatefulSet, p *corev1.Pod) {
	n := ordinalOf(p)
	p.Name = podName(set, n)
	p.Namespace = set.Namespace
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[appsv1.StatefulSetPodNameLabel] = p.Name
	p.Labels[appsv1.PodIndexLabel] = strconv.Itoa(n)
}

// storageMatches reports whether each volume claim template has its volume
// in the pod, backed by the ordinal's claim.
func storageMatches(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	n := ordinalOf(p)
	if n < 0 {
		return false
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range p.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, t := range set.Spec.VolumeClaimTemplates {
		v, ok := volumes[t.Name]
		if !ok || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claimName(set, t.Name, n) {
			return false
		}
	}
	return true
}

// setStorage points the pod's volume of each claim template at the
// ordinal's claim, keeping its other volumes.
func setStorage(set *appsv1.StatefulSet, p *corev1.Pod) {
	n := ordinalOf(p)
	templates := map[string]bool{}
	var volumes []corev1.Volume
	for _, t := range set.Spec.VolumeClaimTemplates {
		templates[t.Name] = true
		volumes = append(volumes, corev1.Volume{
			Name: t.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: claimName(set, t.Name, n),
			}},
		})
	}
	for _, v := range p.Spec.Volumes {
		if !templates[v.Name] {
			volumes = append(volumes, v)
		}
	}
	p.Spec.Volumes = volumes
}

// newClaims returns the claims the pod of ordinal n needs, by template
// name: each template named for the ordinal, labelled with the set's
// selector's match labels.
func newClaims(set *appsv1.StatefulSet, n int) []*corev1.PersistentVolumeClaim {
	var out []*corev1.PersistentVolumeClaim
	for i := range set.Spec.VolumeClaimTemplates {
		c := set.Spec.VolumeClaimTemplates[i].DeepCopy()
		c.Name = claimName(set, set.Spec.VolumeClaimTemplates[i].Name, n)
		c.Namespace = set.Namespace
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		if set.Spec.Selector != nil {
			for k, v := range set.Spec.Selector.MatchLabels {
				c.Labels[k] = v
			}
		}
		out = append(out, c)
	}
	return out
}

func revisionOf(p *corev1.Pod) string {
	return p.Labels[appsv1.StatefulSetRevisionLabel]
}

// created reports whether a pod exists in the API (not a placeholder for
// one to create).
func created(p *corev1.Pod) bool { return p.UID != "" }

func terminating(p *corev1.Pod) bool { return p.DeletionTimestamp != nil }

func finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}

// runningAndReady is upstream's "Running and Ready".
func runningAndReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && workload.Ready(p)
}
