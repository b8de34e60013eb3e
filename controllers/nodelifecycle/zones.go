package nodelifecycle

import "sync"

// zoneState is a zone's health as upstream's node lifecycle controller
// classifies it.
type zoneState int

const (
	zoneNormal zoneState = iota
	// zonePartialDisruption: at least minUnhealthy nodes are not ready and
	// they are at least unhealthyZoneThreshold of the zone.
	zonePartialDisruption
	// zoneFullDisruption: no node of the zone is ready.
	zoneFullDisruption
)

// Upstream's defaults (--unhealthy-zone-threshold and the minimum count
// ComputeZoneState uses).
const (
	unhealthyZoneThreshold = 0.55
	minUnhealthy           = 3
)

// classify returns the state of a zone with ready and notReady nodes.
func classify(ready, notReady int) zoneState {
	switch {
	case ready == 0 && notReady > 0:
		return zoneFullDisruption
	case notReady >= minUnhealthy && float64(notReady)/float64(ready+notReady) >= unhealthyZoneThreshold:
		return zonePartialDisruption
	}
	return zoneNormal
}

// zones counts ready and not-ready nodes per zone, updated as each node is
// synced, so that a node's sync reads its zone's state without listing all
// nodes.
type zones struct {
	mu     sync.Mutex
	nodes  map[string]zoneEntry
	counts map[string]*[2]int // zone -> [ready, notReady]
}

type zoneEntry struct {
	zone  string
	ready bool
}

func newZones() *zones {
	return &zones{nodes: map[string]zoneEntry{}, counts: map[string]*[2]int{}}
}

// set records node as ready or not in zone.
func (z *zones) set(node, zone string, ready bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.removeLocked(node)
	z.nodes[node] = zoneEntry{zone: zone, ready: ready}
	c := z.counts[zone]
	if c == nil {
		c = new([2]int)
		z.counts[zone] = c
	}
	c[index(ready)]++
}

// remove forgets node (deleted, or excluded from disruption checks).
func (z *zones) remove(node string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.removeLocked(node)
}

func (z *zones) removeLocked(node string) {
	e, ok := z.nodes[node]
	if !ok {
		return
	}
	delete(z.nodes, node)
	c := z.counts[e.zone]
	c[index(e.ready)]--
	if c[0] == 0 && c[1] == 0 {
		delete(z.counts, e.zone)
	}
}

func index(ready bool) int {
	if ready {
		return 0
	}
	return 1
}

// state returns zone's state, and whether every known zone is fully
// disrupted (no ready node anywhere).
func (z *zones) state(zone string) (state zoneState, all bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	state = zoneNormal
	if c := z.counts[zone]; c != nil {
		state = classify(c[0], c[1])
	}
	all = len(z.counts) > 0
	for _, c := range z.counts {
		if classify(c[0], c[1]) != zoneFullDisruption {
			all = false
			break
		}
	}
	return state, all
}
