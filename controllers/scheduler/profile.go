package scheduler

import (
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/imagelocality"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/interpodaffinity"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/nodeaffinity"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/nodename"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/nodeports"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/noderesources"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/nodeunschedulable"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/nodevolumelimits"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/podtopologyspread"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/tainttoleration"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/volumebinding"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/volumerestrictions"
	"github.com/kubelite/kubelite/controllers/scheduler/plugins/volumezone"
)

// entry is one plugin of a profile and, if it scores, its weight.
type entry struct {
	plugin framework.Plugin
	weight int64
}

// listers are what plugins read besides the snapshot; a nil lister turns
// off what needs it (see each plugin's New).
type listers struct {
	namespaces corelisters.NamespaceLister
	spread     podtopologyspread.Listers
	volumes    volumebinding.Listers
	csiNodes   storagelisters.CSINodeLister
}

// defaultPlugins is every plugin the scheduler runs, in upstream's order,
// with upstream's default score weights. This list is the one place
// plugins are wired.
func defaultPlugins(l listers) []entry {
	return []entry{
		{plugin: nodename.New()},
		{plugin: nodeunschedulable.New()},
		{plugin: tainttoleration.New(), weight: 3},
		{plugin: nodeaffinity.New(), weight: 2},
		{plugin: nodeports.New()},
		{plugin: noderesources.NewFit(), weight: 1},
		{plugin: volumerestrictions.New(l.volumes.Claims)},
		{plugin: nodevolumelimits.New(nodevolumelimits.Listers{CSINodes: l.csiNodes, Claims: l.volumes.Claims, Volumes: l.volumes.Volumes, Classes: l.volumes.Classes})},
		{plugin: volumebinding.New(l.volumes)},
		{plugin: volumezone.New(volumezone.Listers{Claims: l.volumes.Claims, Volumes: l.volumes.Volumes})},
		{plugin: podtopologyspread.New(l.spread), weight: 2},
		{plugin: interpodaffinity.New(l.namespaces), weight: 2},
		{plugin: noderesources.NewBalanced(), weight: 1},
		{plugin: imagelocality.New(), weight: 1},
	}
}

// profile is the plugins sorted by the extension points they implement.
type profile struct {
	preFilter []framework.PreFilterPlugin
	filter    []framework.FilterPlugin
	observers []framework.PodChangeObserver
	preScore  []framework.PreScorePlugin
	score     []weightedScore
	reserve   []framework.ReservePlugin
	preBind   []framework.PreBindPlugin
}

type weightedScore struct {
	framework.ScorePlugin
	weight int64
}

func newProfile(entries []entry) *profile {
	p := &profile{}
	for _, e := range entries {
		if pl, ok := e.plugin.(framework.PreFilterPlugin); ok {
			p.preFilter = append(p.preFilter, pl)
		}
		if pl, ok := e.plugin.(framework.FilterPlugin); ok {
			p.filter = append(p.filter, pl)
		}
		if pl, ok := e.plugin.(framework.PodChangeObserver); ok {
			p.observers = append(p.observers, pl)
		}
		if pl, ok := e.plugin.(framework.PreScorePlugin); ok {
			p.preScore = append(p.preScore, pl)
		}
		if pl, ok := e.plugin.(framework.ReservePlugin); ok {
			p.reserve = append(p.reserve, pl)
		}
		if pl, ok := e.plugin.(framework.PreBindPlugin); ok {
			p.preBind = append(p.preBind, pl)
		}
		if pl, ok := e.plugin.(framework.ScorePlugin); ok && e.weight > 0 {
			p.score = append(p.score, weightedScore{ScorePlugin: pl, weight: e.weight})
		}
	}
	return p
}
