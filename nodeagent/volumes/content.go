package volumes

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// defaultMode is a volume's file mode when the pod names none (the API
// defaults it; a pod made without defaulting gets upstream's default too).
const defaultMode = 0o644

func modeOr(m *int32, def int32) int32 {
	if m != nil {
		return *m
	}
	return def
}

// keysToFiles maps an object's keys to files as configMap and secret
// volumes do: every key when items is empty, else the keys items names at
// their paths. A key items names that data lacks is an error unless
// optional.
func keysToFiles(kind, name string, data map[string][]byte, items []corev1.KeyToPath, mode int32, optional bool, out map[string]File) error {
	if len(items) == 0 {
		for k, v := range data {
			out[k] = File{Data: v, Mode: fileMode(mode)}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("%s %q references non-existent config key: %s", kind, name, it.Key)
		}
		out[it.Path] = File{Data: v, Mode: fileMode(modeOr(it.Mode, mode))}
	}
	return nil
}

func fileMode(m int32) os.FileMode { return os.FileMode(m) & 0o777 }

// configMapFiles adds the files of a configMap source to out; a missing
// optional configMap adds none.
func (m *Manager) configMapFiles(ctx context.Context, ns string, ref corev1.LocalObjectReference, items []corev1.KeyToPath, optional *bool, mode int32, out map[string]File) error {
	cm, ok := m.cachedConfigMap(ns, ref.Name)
	var err error
	if !ok {
		cm, err = m.cfg.Client.CoreV1().ConfigMaps(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	opt := optional != nil && *optional
	if apierrors.IsNotFound(err) && opt {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configmap %q: %w", ref.Name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	maps.Copy(data, cm.BinaryData)
	return keysToFiles("configmap", ref.Name, data, items, mode, opt, out)
}

// cachedConfigMap is the configMap from its watch; ok is false when the
// watch has not listed it (not started, not synced, or the object is not
// there yet: a GET answers for sure).
func (m *Manager) cachedConfigMap(ns, name string) (cm *corev1.ConfigMap, ok bool) {
	obj, ok := m.cached(objectKey{namespace: ns, name: name})
	if ok {
		cm, ok = obj.(*corev1.ConfigMap)
	}
	return cm, ok
}

// cachedSecret is cachedConfigMap for a secret.
func (m *Manager) cachedSecret(ns, name string) (s *corev1.Secret, ok bool) {
	obj, ok := m.cached(objectKey{secret: true, namespace: ns, name: name})
	if ok {
		s, ok = obj.(*corev1.Secret)
	}
	return s, ok
}

// secretFiles adds the files of a secret source to out.
func (m *Manager) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, mode int32, out map[string]File) error {
	s, ok := m.cachedSecret(ns, name)
	var err error
	if !ok {
		s, err = m.cfg.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	}
	opt := optional != nil && *optional
	if apierrors.IsNotFound(err) && opt {
		return nil
	}
	if err != nil {
		return fmt.Errorf("secret %q: %w", name, err)
	}
	return keysToFiles("secret", name, s.Data, items, mode, opt, out)
}

// downwardFiles adds the files of a downwardAPI source to out.
func (m *Manager) downwardFiles(ctx context.Context, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode int32, out map[string]File) error {
	for _, it := range items {
		var v string
		switch {
		case it.FieldRef != nil:
			var err error
			if v, err = fieldValue(pod, it.FieldRef.FieldPath); err != nil {
				return err
			}
		case it.ResourceFieldRef != nil:
			var err error
			if v, err = ResourceValue(ctx, m.cfg.Client, pod, "", it.ResourceFieldRef); err != nil {
				return err
			}
		default:
			continue
		}
		out[it.Path] = File{Data: []byte(v), Mode: fileMode(modeOr(it.Mode, mode))}
	}
	return nil
}

// fieldValue is the downward API's value of a pod field, as a volume file
// holds it: maps as sorted key="quoted value" lines.
func fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	}
	for _, f := range []string{"metadata.labels", "metadata.annotations"} {
		if rest, ok := strings.CutPrefix(path, f+"['"); ok && strings.HasSuffix(rest, "']") {
			m := pod.Labels
			if f == "metadata.annotations" {
				m = pod.Annotations
			}
			return m[strings.TrimSuffix(rest, "']")], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q in a downwardAPI volume", path)
}

func formatMap(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + strconv.Quote(m[k])
	}
	return strings.Join(lines, "\n")
}

// ResourceValue is the value of a resourceFieldRef (in a downwardAPI file
// or an env var): a container's resource limit or request in units of the
// divisor, rounded up. A limit the container does not set is the node's
// allocatable amount, as upstream, which client reads. The container is
// ref's, or container when ref names none.
func ResourceValue(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, container string, ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" {
		container = ref.ContainerName
	}
	var c *corev1.Container
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == container {
				c = &list[i]
			}
		}
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef: pod has no container %q", container)
	}
	kind, res, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported resourceFieldRef resource %q", ref.Resource)
	}
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(res)]
	if !ok && kind == "limits" {
		if client == nil {
			return "", fmt.Errorf("no API client to read the node's allocatable %s", res)
		}
		node, err := client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("node %s allocatable for %s: %w", pod.Spec.NodeName, ref.Resource, err)
		}
		q = node.Status.Allocatable[corev1.ResourceName(res)]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if res == string(corev1.ResourceCPU) {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}
