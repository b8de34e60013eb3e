// Package podnode indexes the shared pod informer by spec.nodeName, for the
// controllers that act on the pods of one node (node lifecycle, taint
// eviction, pod garbage collection).
package podnode

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// indexName is the index's name on the pod informer; the controllers share
// one index.
const indexName = "spec.nodeName"

// Index reads the pods bound to a node from an informer's indexer. Build it
// with New.
type Index struct{ indexer cache.Indexer }

// New adds the spec.nodeName index to the pod informer unless it already has
// it. Call it before the informer starts.
func New(pods cache.SharedIndexInformer) (*Index, error) {
	if _, ok := pods.GetIndexer().GetIndexers()[indexName]; !ok {
		err := pods.AddIndexers(cache.Indexers{indexName: func(obj any) ([]string, error) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				return []string{p.Spec.NodeName}, nil
			}
			return nil, nil
		}})
		if err != nil {
			return nil, fmt.Errorf("index pods by node: %w", err)
		}
	}
	return &Index{indexer: pods.GetIndexer()}, nil
}

// Pods returns the cached pods bound to node. The caller must not modify
// them.
func (x *Index) Pods(node string) []*corev1.Pod {
	objs, err := x.indexer.ByIndex(indexName, node)
	if err != nil {
		return nil
	}
	pods := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	return pods
}
