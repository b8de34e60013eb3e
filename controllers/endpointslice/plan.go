package endpointslice

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// plan is what one sync writes: slices to create, to update (copies,
// already changed) and to delete.
type plan struct {
	create, update, delete []*discoveryv1.EndpointSlice
}

// newPlan compares the existing slices of svc with what it should have and
// returns the writes that get there with little churn: endpoints stay in the
// slice they are in, new ones fill slices with room before new slices are
// made, a slice is replaced only when its address type or ports no longer
// exist, and each address type keeps an empty placeholder slice when it has
// no endpoints at all.
func newPlan(svc *corev1.Service, d desired, existing []*discoveryv1.EndpointSlice, max int) plan {
	var p plan
	labels := sliceLabels(svc)
	byGroup := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		if !ownedBy(s, svc) {
			p.delete = append(p.delete, s)
			continue
		}
		k := string(s.AddressType) + "|" + portsKey(s.Ports)
		byGroup[k] = append(byGroup[k], s)
	}
	for _, t := range addressTypes(svc) {
		var kept, created int
		for _, pk := range slices.Sorted(maps.Keys(d[t])) {
			k := string(t) + "|" + pk
			c, u, del, keep := fill(svc, d[t][pk], byGroup[k], labels, max)
			delete(byGroup, k)
			p.create = append(p.create, c...)
			p.update = append(p.update, u...)
			p.delete = append(p.delete, del...)
			kept += keep
			created += len(c)
		}
		if kept > 0 || created > 0 {
			continue
		}
		// No endpoints of this type: one empty placeholder slice, kept if
		// it exists.
		k := string(t) + "|"
		if ph := byGroup[k]; len(ph) > 0 && len(ph[0].Endpoints) == 0 {
			if !equality.Semantic.DeepEqual(ph[0].Labels, labels) {
				s := ph[0].DeepCopy()
				s.Labels = labels
				p.update = append(p.update, s)
			}
			byGroup[k] = ph[1:]
			continue
		}
		p.create = append(p.create, newSlice(svc, t, []discoveryv1.EndpointPort{}, labels))
	}
	for _, k := range slices.Sorted(maps.Keys(byGroup)) {
		p.delete = append(p.delete, byGroup[k]...)
	}
	p.reuse(svc)
	return p
}

// fill places one group's endpoints into its existing slices and new ones.
// It returns the slices to create, update and delete, and how many existing
// slices stay.
func fill(svc *corev1.Service, g *group, existing []*discoveryv1.EndpointSlice, labels map[string]string, max int) (
	create, update, del []*discoveryv1.EndpointSlice, kept int) {
	slices.SortFunc(existing, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	placed := map[string]bool{}
	type target struct {
		slice   *discoveryv1.EndpointSlice
		eps     []discoveryv1.Endpoint
		changed bool
	}
	var targets []*target
	for _, s := range existing {
		tg := &target{slice: s, changed: !equality.Semantic.DeepEqual(s.Labels, labels)}
		for _, ep := range s.Endpoints {
			k := endpointKey(ep)
			want, ok := g.endpoints[k]
			if !ok || placed[k] || len(tg.eps) >= max {
				tg.changed = true
				continue
			}
			placed[k] = true
			if !equality.Semantic.DeepEqual(ep, want) {
				tg.changed = true
			}
			tg.eps = append(tg.eps, want)
		}
		targets = append(targets, tg)
	}
	var rest []string
	for k := range g.endpoints {
		if !placed[k] {
			rest = append(rest, k)
		}
	}
	slices.SortFunc(rest, func(a, b string) int {
		return strings.Compare(g.endpoints[a].Addresses[0], g.endpoints[b].Addresses[0])
	})
	for _, tg := range targets {
		for len(rest) > 0 && len(tg.eps) < max {
			tg.eps = append(tg.eps, g.endpoints[rest[0]])
			rest = rest[1:]
			tg.changed = true
		}
		switch {
		case len(tg.eps) == 0:
			del = append(del, tg.slice)
		case tg.changed:
			s := tg.slice.DeepCopy()
			s.Labels, s.Endpoints = labels, tg.eps
			update = append(update, s)
			kept++
		default:
			kept++
		}
	}
	for len(rest) > 0 {
		n := min(len(rest), max)
		s := newSlice(svc, g.addressType, g.ports, labels)
		for _, k := range rest[:n] {
			s.Endpoints = append(s.Endpoints, g.endpoints[k])
		}
		rest = rest[n:]
		create = append(create, s)
	}
	return create, update, del, kept
}

// reuse turns pairs of a create and a delete of the same address type into
// an update of the slice that would be deleted, as upstream does.
func (p *plan) reuse(svc *corev1.Service) {
	for i := 0; i < len(p.delete) && len(p.create) > 0; {
		old := p.delete[i]
		j := slices.IndexFunc(p.create, func(s *discoveryv1.EndpointSlice) bool { return s.AddressType == old.AddressType })
		if j < 0 || !ownedBy(old, svc) {
			i++
			continue
		}
		s := old.DeepCopy()
		s.Labels, s.Ports, s.Endpoints = p.create[j].Labels, p.create[j].Ports, p.create[j].Endpoints
		p.update = append(p.update, s)
		p.create = slices.Delete(p.create, j, j+1)
		p.delete = slices.Delete(p.delete, i, i+1)
	}
}

// newSlice returns a slice to create for svc, owned by it.
func newSlice(svc *corev1.Service, t discoveryv1.AddressType, ports []discoveryv1.EndpointPort, labels map[string]string) *discoveryv1.EndpointSlice {
	prefix := svc.Name + "-"
	if len(validation.IsDNS1123Subdomain(prefix+"xxxxx")) != 0 {
		prefix = svc.Name
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       svc.Namespace,
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))},
		},
		AddressType: t,
		Ports:       ports,
		Endpoints:   []discoveryv1.Endpoint{},
	}
}

// ownedBy reports whether svc is the slice's controller.
func ownedBy(s *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	ref := metav1.GetControllerOf(s)
	return ref != nil && ref.UID == svc.UID
}
