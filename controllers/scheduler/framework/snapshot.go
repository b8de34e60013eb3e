package framework

// Snapshot is the cluster as one scheduling cycle sees it: every node with
// its pods, frozen while the cycle runs. The scheduler's cache fills it;
// plugins only read it.
type Snapshot struct {
	// Nodes lists every node; ByName finds one.
	Nodes  []*NodeInfo
	ByName map[string]*NodeInfo
	// WithAffinity are the nodes with a pod that has pod affinity or
	// anti-affinity; WithRequiredAnti those with a pod that has required
	// anti-affinity.
	WithAffinity, WithRequiredAnti []*NodeInfo
	// ImageNodes counts, for each normalized image name, the nodes that
	// have it.
	ImageNodes map[string]int

	// matching and terms are the pod indexes, domains the label values
	// (podindex.go); uses counts PodsMatching calls, to find the least
	// recently used index.
	matching map[string]*matchIndex
	terms    map[termGroupKey]*TermGroup
	domains  map[string][][]string
	uses     uint64
}

// NewSnapshot builds a snapshot of nodes, deriving ByName, WithAffinity,
// WithRequiredAnti and ImageNodes. Tests use it; the cache keeps its
// snapshot up to date incrementally.
func NewSnapshot(nodes ...*NodeInfo) *Snapshot {
	s := &Snapshot{Nodes: nodes, ByName: map[string]*NodeInfo{}, ImageNodes: map[string]int{}}
	for _, n := range nodes {
		s.ByName[n.Node().Name] = n
		for image := range n.Images {
			s.ImageNodes[image]++
		}
	}
	s.Index()
	return s
}

// Index rebuilds WithAffinity and WithRequiredAnti from Nodes.
func (s *Snapshot) Index() {
	s.WithAffinity, s.WithRequiredAnti = s.WithAffinity[:0], s.WithRequiredAnti[:0]
	for _, n := range s.Nodes {
		if len(n.PodsWithAffinity) > 0 {
			s.WithAffinity = append(s.WithAffinity, n)
		}
		if len(n.PodsWithRequiredAntiAffinity) > 0 {
			s.WithRequiredAnti = append(s.WithRequiredAnti, n)
		}
	}
}
