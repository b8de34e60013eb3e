package framework

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/sets"
)

// StateKey names one plugin's entry in a CycleState.
type StateKey string

// StateData is a plugin's scratch data for one cycle. Clone returns a copy
// that preemption may change without changing the original; data that is
// never changed after PreFilter may return itself.
type StateData interface {
	Clone() StateData
}

// CycleState holds plugins' data for one scheduling cycle of one pod. It is
// written in the sequential phases (PreFilter, PreScore) and only read in
// the parallel ones (Filter, Score), so it needs no lock.
type CycleState struct {
	data       map[StateKey]StateData
	snapshot   *Snapshot
	skipFilter map[string]bool
	skipScore  map[string]bool
	// only, when restricted, names the nodes PreFilters left; restrictedBy
	// the plugins that restricted them.
	only         sets.Set[string]
	restrictedBy []string
}

// NewCycleState returns an empty state for a cycle on snapshot; a nil
// snapshot stands for an empty cluster.
func NewCycleState(snapshot *Snapshot) *CycleState {
	if snapshot == nil {
		snapshot = NewSnapshot()
	}
	return &CycleState{data: map[StateKey]StateData{}, snapshot: snapshot}
}

// Snapshot is the cluster the cycle runs on: every node, whether or not it
// passes the filters. Plugins must not change it.
func (c *CycleState) Snapshot() *Snapshot { return c.snapshot }

// Write stores d under key.
func (c *CycleState) Write(key StateKey, d StateData) { c.data[key] = d }

// Read returns the data under key, or an error if there is none.
func (c *CycleState) Read(key StateKey) (StateData, error) {
	if d, ok := c.data[key]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("no state %q in the cycle", key)
}

// Clone copies the state and clones every entry.
func (c *CycleState) Clone() *CycleState {
	out := &CycleState{data: make(map[StateKey]StateData, len(c.data)), snapshot: c.snapshot,
		skipFilter: c.skipFilter, skipScore: c.skipScore, only: c.only, restrictedBy: c.restrictedBy}
	for k, v := range c.data {
		out.data[k] = v.Clone()
	}
	return out
}

// SkipFilter marks plugin's Filter as not needed in this cycle.
func (c *CycleState) SkipFilter(plugin string) {
	if c.skipFilter == nil {
		c.skipFilter = map[string]bool{}
	}
	c.skipFilter[plugin] = true
}

// FilterSkipped reports whether plugin's Filter is skipped in this cycle.
func (c *CycleState) FilterSkipped(plugin string) bool { return c.skipFilter[plugin] }

// SkipScore marks plugin's Score as not needed in this cycle.
func (c *CycleState) SkipScore(plugin string) {
	if c.skipScore == nil {
		c.skipScore = map[string]bool{}
	}
	c.skipScore[plugin] = true
}

// ScoreSkipped reports whether plugin's Score is skipped in this cycle.
func (c *CycleState) ScoreSkipped(plugin string) bool { return c.skipScore[plugin] }

// RestrictNodes records, from plugin's PreFilter, that only the nodes
// named can fit the pod (upstream's PreFilterResult): the scheduler
// filters only those, and counts the others as rejected by the plugins
// that restricted them. Restrictions from several plugins intersect.
func (c *CycleState) RestrictNodes(plugin string, names sets.Set[string]) {
	if c.only == nil {
		c.only = names.Clone()
	} else {
		c.only = c.only.Intersection(names)
	}
	if !slices.Contains(c.restrictedBy, plugin) {
		c.restrictedBy = append(c.restrictedBy, plugin)
		slices.Sort(c.restrictedBy)
	}
}

// Restriction returns the nodes PreFilters restricted the pod to and the
// plugins that did; ok is false when no plugin restricted it.
func (c *CycleState) Restriction() (names sets.Set[string], plugins []string, ok bool) {
	return c.only, c.restrictedBy, c.only != nil
}
