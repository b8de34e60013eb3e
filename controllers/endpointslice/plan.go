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

// template is what every slice of one owner has in common.
type template struct {
	namespace, prefix string
	owner             metav1.OwnerReference // a controller reference
	labels            map[string]string
	// annotations, when mirrored is set, are kept equal on every slice;
	// otherwise a slice's annotations are left as they are.
	annotations map[string]string
	mirrored    bool
	// placeholders are the address types that keep an empty slice when
	// they have no endpoints.
	placeholders []discoveryv1.AddressType
}

// serviceTemplate is the template of the slices of svc.
func serviceTemplate(svc *corev1.Service) template {
	return template{
		namespace:    svc.Namespace,
		prefix:       slicePrefix(svc.Name),
		owner:        *metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service")),
		labels:       sliceLabels(svc),
		placeholders: addressTypes(svc),
	}
}

// owns reports whether the template's owner is the slice's controller.
func (t template) owns(s *discoveryv1.EndpointSlice) bool {
	ref := metav1.GetControllerOf(s)
	return ref != nil && ref.UID == t.owner.UID
}

// differs reports whether a slice's labels or mirrored annotations differ
// from the template's.
func (t template) differs(s *discoveryv1.EndpointSlice) bool {
	return !equality.Semantic.DeepEqual(s.Labels, t.labels) ||
		(t.mirrored && !equality.Semantic.DeepEqual(s.Annotations, t.annotations))
}

// stamp gives a slice copy the template's labels (and mirrored
// annotations), each slice its own maps.
func (t template) stamp(s *discoveryv1.EndpointSlice) {
	s.Labels = maps.Clone(t.labels)
	if t.mirrored {
		s.Annotations = maps.Clone(t.annotations)
	}
}

// newPlan compares the existing slices of one owner with what it should
// have and returns the writes that get there with little churn: endpoints
// stay in the slice they are in, new ones fill slices with room before new
// slices are made, a slice is replaced only when its address type or ports
// no longer exist, and each placeholder address type keeps an empty slice
// when it has no endpoints at all.
func newPlan(tpl template, d desired, existing []*discoveryv1.EndpointSlice, max int) plan {
	var p plan
	byGroup := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		if !tpl.owns(s) {
			p.delete = append(p.delete, s)
			continue
		}
		k := string(s.AddressType) + "|" + portsKey(s.Ports)
		byGroup[k] = append(byGroup[k], s)
	}
	for _, t := range slices.Sorted(maps.Keys(d)) {
		var kept, created int
		for _, pk := range slices.Sorted(maps.Keys(d[t])) {
			k := string(t) + "|" + pk
			c, u, del, keep := fill(tpl, d[t][pk], byGroup[k], max)
			delete(byGroup, k)
			p.create = append(p.create, c...)
			p.update = append(p.update, u...)
			p.delete = append(p.delete, del...)
			kept += keep
			created += len(c)
		}
		if kept > 0 || created > 0 || !slices.Contains(tpl.placeholders, t) {
			continue
		}
		// No endpoints of this type: one empty placeholder slice, kept if
		// it exists.
		k := string(t) + "|"
		if ph := byGroup[k]; len(ph) > 0 && len(ph[0].Endpoints) == 0 {
			if tpl.differs(ph[0]) {
				s := ph[0].DeepCopy()
				tpl.stamp(s)
				p.update = append(p.update, s)
			}
			byGroup[k] = ph[1:]
			continue
		}
		p.create = append(p.create, tpl.newSlice(t, []discoveryv1.EndpointPort{}))
	}
	for _, k := range slices.Sorted(maps.Keys(byGroup)) {
		p.delete = append(p.delete, byGroup[k]...)
	}
	p.reuse(tpl)
	return p
}

// fill places one group's endpoints into its existing slices and new ones.
// It returns the slices to create, update and delete, and how many existing
// slices stay.
func fill(tpl template, g *group, existing []*discoveryv1.EndpointSlice, max int) (
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
		tg := &target{slice: s, changed: tpl.differs(s)}
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
			tpl.stamp(s)
			s.Endpoints = tg.eps
			update = append(update, s)
			kept++
		default:
			kept++
		}
	}
	for len(rest) > 0 {
		n := min(len(rest), max)
		s := tpl.newSlice(g.addressType, g.ports)
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
func (p *plan) reuse(tpl template) {
	for i := 0; i < len(p.delete) && len(p.create) > 0; {
		old := p.delete[i]
		j := slices.IndexFunc(p.create, func(s *discoveryv1.EndpointSlice) bool { return s.AddressType == old.AddressType })
		if j < 0 || !tpl.owns(old) {
			i++
			continue
		}
		s := old.DeepCopy()
		tpl.stamp(s)
		s.Ports, s.Endpoints = p.create[j].Ports, p.create[j].Endpoints
		p.update = append(p.update, s)
		p.create = slices.Delete(p.create, j, j+1)
		p.delete = slices.Delete(p.delete, i, i+1)
	}
}

// newSlice returns a new slice of the template.
func (t template) newSlice(at discoveryv1.AddressType, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    t.prefix,
			Namespace:       t.namespace,
			OwnerReferences: []metav1.OwnerReference{t.owner},
		},
		AddressType: at,
		Ports:       ports,
		Endpoints:   []discoveryv1.Endpoint{},
	}
	t.stamp(s)
	return s
}

// slicePrefix returns the generateName of the slices of a Service or
// Endpoints called name.
func slicePrefix(name string) string {
	if len(validation.IsDNS1123Subdomain(name+"-xxxxx")) != 0 {
		return name
	}
	return name + "-"
}
