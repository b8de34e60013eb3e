// Package imagelocality is the ImageLocality score: it prefers nodes that
// already have the pod's images, weighting each image by its size and by
// how few nodes have it (an image on every node does not tell nodes apart).
package imagelocality

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubelite/kubelite/controllers/scheduler/framework"
)

// Name is the plugin's name.
const Name = "ImageLocality"

// Upstream's thresholds: below minThreshold of present image bytes a node
// scores 0, at maxContainerThreshold per image it scores MaxNodeScore.
const (
	mb                    int64 = 1024 * 1024
	minThreshold          int64 = 23 * mb
	maxContainerThreshold int64 = 1000 * mb
)

// ImageLocality is the plugin.
type ImageLocality struct{}

var (
	_ framework.PreScorePlugin = (*ImageLocality)(nil)
	_ framework.ScorePlugin    = (*ImageLocality)(nil)
)

// New returns the plugin.
func New() *ImageLocality { return &ImageLocality{} }

// Name returns Name.
func (*ImageLocality) Name() string { return Name }

// PreScore skips the score when no node has any of the pod's images:
// every node would score 0.
func (*ImageLocality) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	found := false
	images(pod, func(image string) {
		found = found || state.Snapshot().ImageNodes[framework.NormalizeImageName(image)] > 0
	})
	if !found {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score sums, over the pod's init and app containers and image volumes,
// the size of each image the node has times the fraction of nodes that
// have it, and maps the sum from [23 MiB, 1000 MiB per image] onto
// 0..MaxNodeScore.
func (*ImageLocality) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, node *framework.NodeInfo) (int64, *framework.Status) {
	snap := state.Snapshot()
	return Score(pod, node, snap.ImageNodes, len(snap.Nodes)), nil
}

// Score is the plugin's score for pod on node in a cluster of totalNodes,
// where imageNodes counts the nodes that have each image.
func Score(pod *corev1.Pod, node *framework.NodeInfo, imageNodes map[string]int, totalNodes int) int64 {
	var sum int64
	count := 0
	add := func(image string) {
		count++
		name := framework.NormalizeImageName(image)
		if size, ok := node.Images[name]; ok && totalNodes > 0 {
			sum += int64(float64(size) * float64(imageNodes[name]) / float64(totalNodes))
		}
	}
	images(pod, add)
	maxThreshold := maxContainerThreshold * int64(count)
	sum = min(max(sum, minThreshold), maxThreshold)
	if maxThreshold <= minThreshold {
		return 0
	}
	return framework.MaxNodeScore * (sum - minThreshold) / (maxThreshold - minThreshold)
}

// images calls f with each image of pod's init and app containers and
// image volumes.
func images(pod *corev1.Pod, f func(image string)) {
	for _, c := range pod.Spec.InitContainers {
		f(c.Image)
	}
	for _, c := range pod.Spec.Containers {
		f(c.Image)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Image != nil {
			f(v.Image.Reference)
		}
	}
}
