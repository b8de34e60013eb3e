// Package netnsexec runs code inside a Linux network namespace: the node
// agent's service proxy programs nftables in a node's namespace with it, and
// the tests that build hosts and pods out of namespaces use it to act as them.
package netnsexec

import (
	"context"
	"runtime"

	"github.com/vishvananda/netns"
	"sigs.k8s.io/knftables"
)

// Path is the path of the named network namespace that `ip netns add` made.
func Path(name string) string { return "/var/run/netns/" + name }

// Do runs fn on an OS thread of its own in the network namespace at path
// (empty: fn runs here, in the caller's namespace). The thread is never handed
// back: it ends with its goroutine, so nothing else ever runs in that
// namespace by accident. Processes fn starts (nft) and sockets it opens belong
// to the namespace, and sockets stay there after fn returns.
func Do(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// NFT is a knftables.Interface whose transactions and listings run inside the
// network namespace at Path.
type NFT struct {
	knftables.Interface
	Path string
}

// NewNFT makes a knftables.Interface for table in family inside the namespace
// at path (empty: here). knftables checks nft's support when it is made, so it
// is made in the namespace too.
func NewNFT(path string, family knftables.Family, table string) (knftables.Interface, error) {
	var nft knftables.Interface
	if err := Do(path, func() (err error) { nft, err = knftables.New(family, table); return err }); err != nil {
		return nil, err
	}
	if path == "" {
		return nft, nil
	}
	return NFT{nft, path}, nil
}

func (n NFT) Run(ctx context.Context, tx *knftables.Transaction) error {
	return Do(n.Path, func() error { return n.Interface.Run(ctx, tx) })
}

func (n NFT) Check(ctx context.Context, tx *knftables.Transaction) error {
	return Do(n.Path, func() error { return n.Interface.Check(ctx, tx) })
}

func (n NFT) List(ctx context.Context, kind string) (names []string, err error) {
	err = Do(n.Path, func() (err error) { names, err = n.Interface.List(ctx, kind); return err })
	return names, err
}

func (n NFT) ListRules(ctx context.Context, chain string) (rules []*knftables.Rule, err error) {
	err = Do(n.Path, func() (err error) { rules, err = n.Interface.ListRules(ctx, chain); return err })
	return rules, err
}

func (n NFT) ListElements(ctx context.Context, objectType, name string) (elements []*knftables.Element, err error) {
	err = Do(n.Path, func() (err error) { elements, err = n.Interface.ListElements(ctx, objectType, name); return err })
	return elements, err
}

func (n NFT) ListCounters(ctx context.Context) (counters []*knftables.Counter, err error) {
	err = Do(n.Path, func() (err error) { counters, err = n.Interface.ListCounters(ctx); return err })
	return counters, err
}
