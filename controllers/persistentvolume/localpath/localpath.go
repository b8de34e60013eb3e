// Package localpath is kubelite's built-in dynamic provisioner,
// kubelite.io/local-path, in the manner of k3s's local-path provisioner: a
// volume is a directory <data dir>/storage/<volume name> on the node the
// scheduler chose for the claim's first pod, served as a hostPath
// (DirectoryOrCreate) with node affinity to that node.
//
// Only the server's own machine is reachable from here: for it the
// provisioner creates the directory at once and removes it on Delete. For
// any other node (an agent elsewhere, or a simulated node, which has no
// file system of its own) it only writes the PersistentVolume object; a
// real node's agent creates the directory when a pod mounts it
// (DirectoryOrCreate), and the directory stays on that node after Delete
// (k3s runs a helper pod there to remove it; kubelite does not yet).
package localpath

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// Name is the provisioner's name in StorageClasses.
const Name = "kubelite.io/local-path"

// Provisioner makes local-path volumes.
type Provisioner struct {
	// Root holds the volumes' directories: <data dir>/storage.
	Root string
	// LocalNode is the name of the node on this machine; "" when none is.
	LocalNode string
}

// Provision returns a hostPath volume under Root on node, creating the
// directory when node is this machine. A class that binds Immediately
// gives no node, and local-path cannot provision for it.
func (p *Provisioner) Provision(ctx context.Context, name string, _ *corev1.PersistentVolumeClaim, node *corev1.Node) (corev1.PersistentVolumeSource, *corev1.VolumeNodeAffinity, error) {
	if node == nil {
		return corev1.PersistentVolumeSource{}, nil, errors.New("configuration error, no node was specified: " + Name + " needs a StorageClass with volumeBindingMode WaitForFirstConsumer")
	}
	dir := filepath.Join(p.Root, name)
	if p.local(node.Name) {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return corev1.PersistentVolumeSource{}, nil, fmt.Errorf("create volume directory: %w", err)
		}
		// Pods of any user write there, as with k3s's provisioner.
		if err := os.Chmod(dir, 0o777); err != nil {
			return corev1.PersistentVolumeSource{}, nil, fmt.Errorf("create volume directory: %w", err)
		}
		klog.FromContext(ctx).V(2).Info("Created local-path volume directory", "path", dir)
	}
	hostname := node.Labels[corev1.LabelHostname]
	key := corev1.LabelHostname
	if hostname == "" {
		hostname, key = node.Name, ""
	}
	term := corev1.NodeSelectorTerm{}
	if key != "" {
		term.MatchExpressions = []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: []string{hostname}}}
	} else {
		term.MatchFields = []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{hostname}}}
	}
	typ := corev1.HostPathDirectoryOrCreate
	source := corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &typ}}
	affinity := &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}}}
	return source, affinity, nil
}

// Delete removes the volume's directory when it is on this machine.
func (p *Provisioner) Delete(ctx context.Context, pv *corev1.PersistentVolume) error {
	if pv.Spec.HostPath == nil {
		return fmt.Errorf("volume %s is not a local-path volume", pv.Name)
	}
	dir := filepath.Join(p.Root, pv.Name)
	if filepath.Clean(pv.Spec.HostPath.Path) != dir {
		return fmt.Errorf("volume %s: path %q is not under %s", pv.Name, pv.Spec.HostPath.Path, p.Root)
	}
	if !p.local(nodeOf(pv)) {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove volume directory: %w", err)
	}
	klog.FromContext(ctx).V(2).Info("Removed local-path volume directory", "path", dir)
	return nil
}

func (p *Provisioner) local(node string) bool { return p.LocalNode != "" && node == p.LocalNode }

// nodeOf is the node a local-path volume's affinity names.
func nodeOf(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, r := range append(t.MatchExpressions, t.MatchFields...) {
			if len(r.Values) == 1 {
				return r.Values[0]
			}
		}
	}
	return ""
}
