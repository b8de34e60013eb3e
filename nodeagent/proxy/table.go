package proxy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/knftables"
)

// table applies rulesets to the proxy's nft table, remembering the last one
// applied so that each sync sends only the difference.
type table struct {
	nft knftables.Interface
	// applied is the ruleset in the kernel; nil when unknown (before the
	// first sync, after a failed one): the next apply starts over.
	applied *ruleset
}

// apply makes the table hold want in one transaction, and reports whether
// anything changed.
func (t *table) apply(ctx context.Context, want ruleset) (bool, error) {
	tx := t.nft.NewTransaction()
	have := t.applied
	fresh := have == nil
	if fresh {
		var err error
		if have, err = t.startOver(ctx, tx); err != nil {
			return false, err
		}
	}
	// New chains, maps and sets first: rules and elements name them.
	for _, name := range sortedKeys(want.chains) {
		if _, ok := have.chains[name]; !ok {
			tx.Add(&knftables.Chain{Name: name})
		}
	}
	if fresh {
		for _, bc := range baseChains {
			tx.Add(&knftables.Rule{Chain: bc.name, Rule: bc.rule})
		}
	}
	for _, name := range sortedKeys(want.affinity) {
		s := want.affinity[name]
		if old, ok := have.affinity[name]; ok && old == s {
			continue
		} else if ok {
			tx.Delete(&knftables.Set{Name: name})
		}
		tx.Add(&knftables.Set{Name: name, Type: s.typ, Flags: []knftables.SetFlag{knftables.DynamicFlag}, Timeout: knftables.PtrTo(s.timeout)})
	}
	for _, name := range sortedKeys(want.maps) {
		if _, ok := have.maps[name]; !ok {
			tx.Add(&knftables.Map{Name: name, Type: want.maps[name].typ})
		}
	}
	for _, name := range sortedKeys(want.chains) {
		rules := want.chains[name]
		if old, ok := have.chains[name]; ok && slices.Equal(old, rules) {
			continue
		} else if ok {
			tx.Flush(&knftables.Chain{Name: name})
		}
		for _, rule := range rules {
			tx.Add(&knftables.Rule{Chain: name, Rule: rule})
		}
	}
	for _, name := range sortedKeys(want.maps) {
		var old map[string]string
		if m, ok := have.maps[name]; ok {
			old = m.elements
		}
		cur := want.maps[name].elements
		for _, k := range sortedKeys(old) {
			if v, ok := cur[k]; !ok || v != old[k] {
				tx.Delete(&knftables.Element{Map: name, Key: split(k)})
			}
		}
		for _, k := range sortedKeys(cur) {
			if v, ok := old[k]; !ok || v != cur[k] {
				tx.Add(&knftables.Element{Map: name, Key: split(k), Value: []string{cur[k]}})
			}
		}
	}
	// What is gone goes last, once nothing refers to it: a chain is
	// emptied before it is deleted, as nft requires.
	for _, name := range sortedKeys(have.chains) {
		if _, ok := want.chains[name]; !ok {
			tx.Flush(&knftables.Chain{Name: name})
			tx.Delete(&knftables.Chain{Name: name})
		}
	}
	for _, name := range sortedKeys(have.affinity) {
		if _, ok := want.affinity[name]; !ok {
			tx.Delete(&knftables.Set{Name: name})
		}
	}
	for _, name := range sortedKeys(have.maps) {
		if _, ok := want.maps[name]; !ok {
			tx.Delete(&knftables.Map{Name: name})
		}
	}
	if tx.NumOperations() == 0 {
		return false, nil
	}
	t.applied = nil
	if err := t.nft.Run(ctx, tx); err != nil {
		return false, fmt.Errorf("apply service rules: %w", err)
	}
	t.applied = &want
	return true, nil
}

// startOver puts into tx what makes the table hold just its base chains
// and the regular chains an earlier run made, emptied (they are deleted at
// the end of the transaction unless still wanted); its maps and sets go.
// It returns what the table holds after that.
func (t *table) startOver(ctx context.Context, tx *knftables.Transaction) (*ruleset, error) {
	have := &ruleset{chains: map[string][]string{}, maps: map[string]*verdictMap{}, affinity: map[string]affinitySet{}}
	tx.Add(&knftables.Table{Comment: knftables.PtrTo("kubelite service proxy")})
	existing := map[string][]string{}
	for _, kind := range []string{"chains", "maps", "sets"} {
		names, err := t.nft.List(ctx, kind)
		if err != nil && !knftables.IsNotFound(err) {
			return nil, fmt.Errorf("list %s of the service table: %w", kind, err)
		}
		existing[kind] = names
	}
	base := map[string]bool{}
	for _, bc := range baseChains {
		base[bc.name] = true
		c := &knftables.Chain{Name: bc.name, Type: knftables.PtrTo(bc.typ), Hook: knftables.PtrTo(bc.hook), Priority: knftables.PtrTo(bc.priority)}
		tx.Add(c)
		tx.Flush(c)
	}
	// Empty every chain first, so that nothing refers to what is deleted.
	for _, name := range existing["chains"] {
		if !base[name] {
			tx.Flush(&knftables.Chain{Name: name})
			have.chains[name] = nil
		}
	}
	for _, name := range existing["maps"] {
		tx.Delete(&knftables.Map{Name: name})
	}
	for _, name := range existing["sets"] {
		tx.Delete(&knftables.Set{Name: name})
	}
	return have, nil
}

// verify forgets what was applied when the table does not hold the
// chains it should (someone deleted or flushed it), so that the next apply
// starts over.
func (t *table) verify(ctx context.Context) {
	if t.applied == nil {
		return
	}
	names, err := t.nft.List(ctx, "chains")
	if err != nil || len(names) != len(t.applied.chains)+len(baseChains) {
		t.applied = nil
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// split turns a key "a . b . c" back into its parts.
func split(k string) []string { return strings.Split(k, " . ") }

// Cleanup removes the table an earlier run left (when the proxy is turned
// off): Services would otherwise keep pointing at endpoints nothing updates.
func Cleanup(ctx context.Context, nft knftables.Interface) error {
	tx := nft.NewTransaction()
	tx.Add(&knftables.Table{})
	tx.Delete(&knftables.Table{})
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("remove service proxy table: %w", err)
	}
	return nil
}
