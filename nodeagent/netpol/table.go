package netpol

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/knftables"
)

// TableName is the nft table (family inet) the enforcer owns.
const TableName = "kubelite-netpol"

// table applies rulesets to the nft table, remembering what it applied last
// so that each sync sends only the difference.
type table struct {
	nft knftables.Interface
	// applied is the ruleset in the kernel; nil when unknown (before the
	// first sync, after a failure), which makes the next apply start over.
	applied *ruleset
}

// apply makes the table hold want, in one transaction. It reports whether
// it changed anything.
func (t *table) apply(ctx context.Context, want ruleset) (bool, error) {
	tx := t.nft.NewTransaction()
	have := t.applied
	if have == nil {
		// Start over: whatever an earlier run left goes, atomically.
		tx.Add(&knftables.Table{})
		tx.Delete(&knftables.Table{})
		tx.Add(&knftables.Table{Comment: knftables.PtrTo("kubelite NetworkPolicy enforcement")})
		tx.Add(&knftables.Chain{
			Name:     forwardChain,
			Type:     knftables.PtrTo(knftables.FilterType),
			Hook:     knftables.PtrTo(knftables.ForwardHook),
			Priority: knftables.PtrTo(knftables.FilterPriority),
			Policy:   knftables.PtrTo(knftables.AcceptPolicy),
		})
		tx.Add(&knftables.Chain{Name: ingressChain})
		tx.Add(&knftables.Chain{Name: egressChain})
		have = &ruleset{}
	}
	for _, name := range slices.Sorted(maps.Keys(want.sets)) {
		s := want.sets[name]
		old, exists := have.sets[name]
		switch {
		case !exists:
			set := &knftables.Set{Name: name, Type: s.typ, Comment: knftables.PtrTo(s.comment)}
			if s.interval {
				set.Flags = []knftables.SetFlag{knftables.IntervalFlag}
			}
			tx.Add(set)
		case old.typ != s.typ || old.interval != s.interval:
			// Names encode the type; a change means a bug, not a policy edit.
			return false, fmt.Errorf("set %s changed type from %q to %q", name, old.typ, s.typ)
		case old.equal(s):
			continue
		default:
			// Only the difference: nft re-reads an interval set to check
			// each transaction touching it, so resending it all is slow.
			for _, e := range without(old.elements, s.elements) {
				tx.Delete(&knftables.Element{Set: name, Key: e})
			}
			for _, e := range without(s.elements, old.elements) {
				tx.Add(&knftables.Element{Set: name, Key: e})
			}
			continue
		}
		for _, e := range s.elements {
			tx.Add(&knftables.Element{Set: name, Key: e})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want.chains)) {
		rules := want.chains[name]
		if slices.Equal(rules, have.chains[name]) {
			continue
		}
		tx.Flush(&knftables.Chain{Name: name})
		for _, r := range rules {
			tx.Add(&knftables.Rule{Chain: name, Rule: r})
		}
	}
	// Sets go last: the rules that used them were rewritten above.
	for _, name := range slices.Sorted(maps.Keys(have.sets)) {
		if _, ok := want.sets[name]; !ok {
			tx.Delete(&knftables.Set{Name: name})
		}
	}
	if tx.NumOperations() == 0 {
		return false, nil
	}
	t.applied = nil
	if err := t.nft.Run(ctx, tx); err != nil {
		return false, fmt.Errorf("apply network policy rules: %w", err)
	}
	t.applied = &want
	return true, nil
}

// without is the elements of a that b lacks.
func without(a, b [][]string) [][]string {
	in := make(map[string]bool, len(b))
	for _, e := range b {
		in[strings.Join(e, " . ")] = true
	}
	var out [][]string
	for _, e := range a {
		if !in[strings.Join(e, " . ")] {
			out = append(out, e)
		}
	}
	return out
}

// Cleanup removes the table an earlier run left, so that pods are not
// kept isolated by rules nothing updates any more (after a switch to
// another enforcer, or to none). Without nft there is nothing to remove.
func Cleanup(ctx context.Context, nft knftables.Interface) error {
	tx := nft.NewTransaction()
	tx.Add(&knftables.Table{})
	tx.Delete(&knftables.Table{})
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("remove network policy table: %w", err)
	}
	return nil
}
